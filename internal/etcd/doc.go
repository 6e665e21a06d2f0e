// Package etcd owns the lifecycle of the embedded etcd that backs kplane's
// storage, and the construction of etcd clients for both the embedded server
// and external clusters (--etcd-servers).
//
// The embedded server follows the component shape used across kplane:
// Config → New → Start(ctx) (blocks until etcd serves) → Close. Port 0 in the
// client or peer URL means "pick a free loopback port", so tests and
// `kplane up` can run several servers in one process without coordination.
// etcd's zap logger is bridged to the injected *slog.Logger at warn level by
// default, because etcd logs several hundred lines at info on every start.
//
// Durability is the default: writes are fsynced before etcd acknowledges
// them, so `kill -9` of kplane loses nothing a client was told succeeded.
// UnsafeNoFsync trades that guarantee for speed in throwaway benchmarks.
package etcd
