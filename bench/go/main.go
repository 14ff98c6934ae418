// SPDX-License-Identifier: MIT
// golf-bench-go: the Go mirror of golf-bench's workloads (docs/BENCHMARKS.md). golf-bench runs it as one
// more peer, once per run, interleaved with the C implementations:
//
//	golf-bench-go -w WORKLOAD -t THREADS -n OPS
//
// It prints one line: "ok OPS SECONDS" or "fail REASON" (a latency workload, timer_lateness, adds
// "P50_US P99_US" after SECONDS). Timing is docs/BENCHMARKS.md's: wall clock from
// just before the workers start until all have joined; setup is not timed.
//
//	golf-bench-go -footprint -cap CAP -n COUNT
//
// prints "ok BYTES": the heap bytes per channel of COUNT make(chan int64, CAP).
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

// A workload runs once with `threads` and `n` total operations and reports what it did.
type result struct {
	ops     int64
	elapsed time.Duration
	ok      bool
	why     string
	latency bool          // a latency workload: p50 and p99 are printed after the time
	p50     time.Duration // (timer_lateness)
	p99     time.Duration
}

type workload func(threads int, n int64) result

// Each file of this package adds its workloads here from an init function.
var workloads = map[string]workload{}

// runWorkers starts nthreads goroutines running fn(id) and waits for all of them; it returns
// the time from just before the first starts until the last has finished.
func runWorkers(nthreads int, fn func(id int)) time.Duration {
	var wg sync.WaitGroup
	wg.Add(nthreads)
	start := time.Now()
	for i := 0; i < nthreads; i++ {
		go func(id int) {
			defer wg.Done()
			fn(id)
		}(i)
	}
	wg.Wait()
	return time.Since(start)
}

// docs/BENCHMARKS.md's PRNG: splitmix64, seeded 0x1234567 + id*0x9E3779B97F4A7C15.
type splitmix64 struct{ s uint64 }

func newRand(id int) splitmix64 { return splitmix64{0x1234567 + uint64(id)*0x9E3779B97F4A7C15} }

func (r *splitmix64) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func main() {
	w := flag.String("w", "", "workload")
	t := flag.Int("t", 1, "threads")
	n := flag.Int64("n", 0, "total operations")
	list := flag.Bool("list", false, "list workloads")
	footprint := flag.Bool("footprint", false, "print the heap bytes per channel of -n channels")
	capacity := flag.Int("cap", 0, "-footprint: the channels' capacity")
	flag.Parse()
	if *footprint {
		if *n < 1 {
			fmt.Println("fail -footprint needs -n >= 1")
			os.Exit(2)
		}
		fmt.Printf("ok %.2f\n", chanFootprint(*capacity, int(*n)))
		return
	}
	if *list {
		names := make([]string, 0, len(workloads))
		for k := range workloads {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Println(k)
		}
		return
	}
	fn, found := workloads[*w]
	if !found {
		fmt.Printf("fail unknown workload %q\n", *w)
		os.Exit(2)
	}
	if runtime.GOMAXPROCS(0) != runtime.NumCPU() {
		runtime.GOMAXPROCS(runtime.NumCPU())
	}
	r := fn(*t, *n)
	if !r.ok {
		fmt.Printf("fail %s\n", r.why)
		os.Exit(1)
	}
	if r.latency {
		fmt.Printf("ok %d %.9f %.3f %.3f\n", r.ops, r.elapsed.Seconds(),
			float64(r.p50.Nanoseconds())/1e3, float64(r.p99.Nanoseconds())/1e3)
		return
	}
	fmt.Printf("ok %d %.9f\n", r.ops, r.elapsed.Seconds())
}
