// SPDX-License-Identifier: MIT
package main

import (
	"sort"
	"time"
)

func init() {
	// timer_lateness: each of T goroutines waits on <-time.After(1 ms), n timers in all; the
	// lateness of one is the time the receiver has the value minus the deadline. Reported as
	// "ok OPS SECONDS P50_US P99_US".
	workloads["timer_lateness"] = func(threads int, n int64) result {
		per := n / int64(threads)
		if per == 0 {
			per = 1
		}
		late := make([][]time.Duration, threads)
		el := runWorkers(threads, func(id int) {
			l := make([]time.Duration, per)
			for i := range l {
				deadline := time.Now().Add(time.Millisecond)
				<-time.After(time.Millisecond)
				if d := time.Since(deadline); d > 0 {
					l[i] = d
				}
			}
			late[id] = l
		})
		var all []time.Duration
		for _, l := range late {
			all = append(all, l...)
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		p99 := len(all) * 99 / 100
		if p99 >= len(all) {
			p99 = len(all) - 1
		}
		return result{ops: int64(len(all)), elapsed: el, ok: true,
			latency: true, p50: all[len(all)/2], p99: all[p99]}
	}
}
