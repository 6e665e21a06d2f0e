//go:build unix

package apiserver_test

import "syscall"

// processCPU is the CPU time (user + system) this process has used, in
// nanoseconds: client, API server and etcd together, since they share the
// process. Unlike wall time it does not grow when other processes compete
// for the cores.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
