// SPDX-License-Identifier: MIT
package main

import (
	"fmt"
	"sync"
)

func init() {
	// mutex_inc: lock; counter++; unlock; final counter == N.
	workloads["mutex_inc"] = func(threads int, n int64) result {
		var mu sync.Mutex
		var counter int64
		per := n / int64(threads)
		el := runWorkers(threads, func(id int) {
			for i := int64(0); i < per; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
		})
		total := per * int64(threads)
		if counter != total {
			return result{why: fmt.Sprintf("counter %d != %d", counter, total)}
		}
		return result{ops: total, elapsed: el, ok: true}
	}
	// waitgroup_adddone: add(1); done() on one shared wait group.
	workloads["waitgroup_adddone"] = func(threads int, n int64) result {
		var wg sync.WaitGroup
		per := n / int64(threads)
		el := runWorkers(threads, func(id int) {
			for i := int64(0); i < per; i++ {
				wg.Add(1)
				wg.Done()
			}
		})
		wg.Wait()
		return result{ops: per * int64(threads), elapsed: el, ok: true}
	}
}
