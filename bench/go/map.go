// SPDX-License-Identifier: MIT
package main

// The map workloads of docs/BENCHMARKS.md on sync.Map, mirroring bench/bench_map.c: uint64 keys 1..100000
// prefilled with value = key; per op x = next(), key = 1 + (x & 0xffffffff) % 100000; if
// (x >> 32) % 100 < R load (must hit, low 32 bits of the value == key) else store
// key | (i << 32). map_loadorstore_hot: 90% of keys in 1..1000, 10% in 1..200000 (half absent
// at the start, so they are inserted); LoadOrStore(key, key); the actual value must carry the key.

import (
	"fmt"
	"sync"
	"sync/atomic"
)

const (
	mapKeys  = 100000
	hotKeys  = 1000
	wideKeys = 200000
)

func prefilledMap() *sync.Map {
	m := new(sync.Map)
	for k := uint64(1); k <= mapKeys; k++ {
		m.Store(k, k)
	}
	return m
}

func mapMix(readPct uint64) workload {
	return func(threads int, n int64) result {
		m := prefilledMap()
		per := n / int64(threads)
		var bad int64
		el := runWorkers(threads, func(id int) {
			r := newRand(id)
			var miss int64
			for i := int64(0); i < per; i++ {
				x := r.next()
				key := 1 + (x&0xffffffff)%mapKeys
				if (x>>32)%100 < readPct {
					v, ok := m.Load(key)
					if !ok || v.(uint64)&0xffffffff != key {
						miss++
					}
				} else {
					m.Store(key, key|uint64(i)<<32)
				}
			}
			atomic.AddInt64(&bad, miss)
		})
		if bad != 0 {
			return result{why: fmt.Sprintf("%d loads missed or returned another key's value", bad)}
		}
		return result{ops: per * int64(threads), elapsed: el, ok: true}
	}
}

func init() {
	workloads["map_load99"] = mapMix(99)
	workloads["map_load90"] = mapMix(90)
	workloads["map_load50"] = mapMix(50)
	workloads["map_loadorstore_hot"] = func(threads int, n int64) result {
		m := prefilledMap()
		per := n / int64(threads)
		var bad int64
		el := runWorkers(threads, func(id int) {
			r := newRand(id)
			var wrong int64
			for i := int64(0); i < per; i++ {
				x := r.next()
				var key uint64
				if (x>>32)%100 < 90 {
					key = 1 + (x&0xffffffff)%hotKeys
				} else {
					key = 1 + (x&0xffffffff)%wideKeys
				}
				v, _ := m.LoadOrStore(key, key)
				if v.(uint64)&0xffffffff != key {
					wrong++
				}
			}
			atomic.AddInt64(&bad, wrong)
		})
		if bad != 0 {
			return result{why: fmt.Sprintf("%d LoadOrStore results of another key", bad)}
		}
		return result{ops: per * int64(threads), elapsed: el, ok: true}
	}
}
