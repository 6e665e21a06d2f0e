package interpod

import (
	"runtime"
	"sync"
)

// minNodesPerWorker keeps small clusters on one goroutine, where the cost of
// starting workers and merging their maps exceeds the scan itself.
const minNodesPerWorker = 256

// workersFor returns how many goroutines scan n nodes given a parallelism
// limit (0 means GOMAXPROCS).
func workersFor(n, parallelism int) int {
	if parallelism <= 0 {
		parallelism = runtime.GOMAXPROCS(0)
	}
	w := n / minNodesPerWorker
	if w > parallelism {
		w = parallelism
	}
	if w < 1 {
		w = 1
	}
	return w
}

// parallelize calls fn(worker, start, end) over contiguous chunks of [0, n)
// on `workers` goroutines and waits for all of them.
func parallelize(n, workers int, fn func(worker, start, end int)) {
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for w := 0; w < workers; w++ {
		start, end := w*chunk, (w+1)*chunk
		if end > n {
			end = n
		}
		if start >= end {
			break
		}
		wg.Add(1)
		go func(w, start, end int) {
			defer wg.Done()
			fn(w, start, end)
		}(w, start, end)
	}
	wg.Wait()
}
