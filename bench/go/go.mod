module golfbench

go 1.19
