// Package scheduler is kplane's kube-scheduler: Config → New → Run(ctx).
// It watches nodes and pods, keeps a cache of NodeInfos (assigned and
// assumed pods) that it copies incrementally into a Snapshot each cycle,
// takes pending pods from a priority queue with backoff and
// unschedulable sub-queues, runs the plugins of package plugins over a
// sample of nodes in parallel, assumes the chosen node and binds through
// pods/binding with bounded parallel workers. Failures produce
// FailedScheduling events and a PodScheduled=False condition worded as
// upstream. The scheduling algorithm (algorithm.go) depends only on a
// framework.Snapshot, so it is benchmarked without an API server.
package scheduler
