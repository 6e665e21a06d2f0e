// Package hollownode runs simulated kubelets ("hollow nodes"): thousands of
// Nodes in one process that register, keep a coordination.k8s.io/v1 Lease
// fresh, report NodeStatus, and drive the lifecycle of the pods bound to
// them (Pending → Running → Succeeded/Failed, graceful deletion) without
// containers.
//
// It owns the node side of a cluster for scale tests, so memory and CPU per
// node are a budget: a Fleet shares one HTTP transport, one pod informer
// (pods with spec.nodeName set, indexed by node name) and two bounded
// worker pools fed by delaying work queues (a heap, not a goroutine per
// node). Node heartbeats and pod status writes have separate client-side
// rate limiters, so a storm of pod starts cannot starve Lease renewals and
// make nodes expire.
//
// A Fleet sees the API only through client-go, so it works against any
// cluster given a rest.Config: kplane in the same process (kplane up
// --nodes), kplane or upstream Kubernetes in another (kplane nodes).
//
// Simulated behaviour is steered by Config and by pod annotations:
//
//	kplane.io/run-duration   pod containers exit after this duration (Go
//	                         syntax, "30s"); pods owned by a Job run
//	                         Config.JobRunDuration unless annotated.
//	kplane.io/exit-code      exit code of containers that run to completion
//	                         (default 0; non-zero fails them).
//	kplane.io/start-latency  fixed start latency instead of the sampled one.
//	kplane.io/stop-duration  how long containers take to stop after
//	                         deletion (capped by the grace period).
package hollownode
