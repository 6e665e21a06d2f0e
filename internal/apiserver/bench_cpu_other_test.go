//go:build !unix

package apiserver_test

// processCPU is not measured here; benchmarks then omit cpu-µs/op.
func processCPU() int64 { return 0 }
