// SPDX-License-Identifier: MIT
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
)

func init() {
	// pool_getput64: 20,000,000 get+put pairs split over T; get, write one byte, put;
	// 64-byte objects; one op is one pair. A fresh sync.Pool per run, New allocates 64 bytes.
	// The pool holds *[64]byte (a pointer), so Put does not allocate (staticcheck SA6002).
	workloads["pool_getput64"] = func(threads int, n int64) result {
		pool := sync.Pool{New: func() any { return new([64]byte) }}
		per := n / int64(threads)
		var nils int64
		el := runWorkers(threads, func(id int) {
			var bad int64
			for i := int64(0); i < per; i++ {
				o, ok := pool.Get().(*[64]byte)
				if !ok || o == nil {
					bad++
					continue
				}
				o[0] = byte(i + int64(id))
				pool.Put(o)
			}
			atomic.AddInt64(&nils, bad)
		})
		if nils != 0 {
			return result{why: fmt.Sprintf("%d gets returned nil", nils)}
		}
		return result{ops: per * int64(threads), elapsed: el, ok: true}
	}
}
