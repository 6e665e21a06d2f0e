// Package framework holds the scheduler's data model and plugin contract:
// NodeInfo (a node with its pods, requested resources and used host
// ports), the Snapshot one scheduling cycle reads, CycleState, Status
// codes and the extension-point interfaces, with upstream kube-scheduler's
// semantics. It has no API client; the cache that fills snapshots lives in
// package scheduler.
package framework
