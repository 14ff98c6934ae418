// SPDX-License-Identifier: MIT
package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"
)

// The channel workloads of bench/bench_chan.c, in Go (docs/BENCHMARKS.md conventions): int64 payload;
// producer p of P sends p*(N/P)+1 ... (p+1)*(N/P); each consumer receives N/P; the check is count
// and sum = N(N+1)/2 over the values received.

// mpmc runs P producers and P consumers on one channel of capacity capacity.
func mpmc(capacity int, threads int, n int64) result {
	ch := make(chan int64, capacity)
	per := n / int64(threads)
	sums := make([]int64, threads*8) // one cache line (8 words) per consumer
	counts := make([]int64, threads*8)
	el := runWorkers(2*threads, func(id int) {
		if id < threads {
			first := int64(id)*per + 1
			for v := first; v < first+per; v++ {
				ch <- v
			}
			return
		}
		var sum, count int64
		for i := int64(0); i < per; i++ {
			sum += <-ch
			count++
		}
		sums[(id-threads)*8] = sum
		counts[(id-threads)*8] = count
	})
	return check(per*int64(threads), sums, counts, el)
}

// check compares the count and sum received with docs/BENCHMARKS.md's N(N+1)/2.
func check(total int64, sums, counts []int64, el time.Duration) result {
	var sum, count int64
	for i := range sums {
		sum += sums[i]
		count += counts[i]
	}
	want := total * (total + 1) / 2
	if count != total || sum != want {
		return result{why: fmt.Sprintf("received %d values summing to %d, want %d summing to %d", count, sum, total, want)}
	}
	return result{ops: total, elapsed: el, ok: true}
}

func init() {
	workloads["chan_buf1024_mpmc"] = func(threads int, n int64) result {
		return mpmc(1024, threads, n)
	}
	// chan_recv_many64: Go has no batch receive; the mirror is 1P1C on cap 1024 with the plain
	// per-value receive loop.
	workloads["chan_recv_many64"] = func(threads int, n int64) result {
		return mpmc(1024, 1, n)
	}
	workloads["chan_unbuf_mpmc"] = func(threads int, n int64) result {
		return mpmc(0, threads, n)
	}
	// chan_unbounded_mpmc: Go has no unbounded channel; a buffered one of n slots never fills.
	workloads["chan_unbounded_mpmc"] = func(threads int, n int64) result {
		return mpmc(int(n), threads, n)
	}
	// chan_select2_buf1024: 2 producers each on its own cap-1024 channel; 1 consumer selects
	// over both for all N values.
	workloads["chan_select2_buf1024"] = func(threads int, n int64) result {
		a := make(chan int64, 1024)
		b := make(chan int64, 1024)
		per := n / 2
		sums := make([]int64, 1)
		counts := make([]int64, 1)
		el := runWorkers(3, func(id int) {
			if id < 2 {
				ch := a
				if id == 1 {
					ch = b
				}
				first := int64(id)*per + 1
				for v := first; v < first+per; v++ {
					ch <- v
				}
				return
			}
			var sum int64
			for i := int64(0); i < 2*per; i++ {
				select {
				case v := <-a:
					sum += v
				case v := <-b:
					sum += v
				}
			}
			sums[0] = sum
			counts[0] = 2 * per
		})
		return check(2*per, sums, counts, el)
	}
	// chan_pingpong_rtt: two unbuffered channels, n round trips; one op = one round trip.
	workloads["chan_pingpong_rtt"] = func(threads int, n int64) result {
		ping := make(chan int64)
		pong := make(chan int64)
		var bad int64
		el := runWorkers(2, func(id int) {
			if id == 0 {
				for i := int64(0); i < n; i++ {
					ping <- i
					if <-pong != i+1 {
						bad++
					}
				}
				return
			}
			for i := int64(0); i < n; i++ {
				v := <-ping
				pong <- v + 1
			}
		})
		if bad != 0 {
			return result{why: fmt.Sprintf("%d round trips returned a wrong value", bad)}
		}
		return result{ops: n, elapsed: el, ok: true}
	}
}

// chanFootprint returns the heap bytes per channel of n make(chan int64, capacity): HeapAlloc
// before and after making them, with the collector off so that nothing is freed in between (the
// slice that holds them is allocated before the first reading).
func chanFootprint(capacity int, n int) float64 {
	chans := make([]chan int64, n)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range chans {
		chans[i] = make(chan int64, capacity)
	}
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(chans)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
