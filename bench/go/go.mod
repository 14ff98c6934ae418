// SPDX-License-Identifier: MIT
module golfbench

go 1.19
