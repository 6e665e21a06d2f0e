// Package usage is kplane's simulated resource-usage model: a
// deterministic function from a pod (and a time window) to the CPU and
// memory its containers use, and from a node's running pods to the node's
// usage. It feeds the metrics.k8s.io API, so that `kubectl top` and the
// horizontal pod autoscaler work on a cluster whose kubelets are
// simulated and whose containers run nothing.
//
// Annotations on the pod decide, when present:
//
//	kplane.io/cpu-usage: "250m"              the pod's total CPU
//	kplane.io/memory-usage: "64Mi"           the pod's total memory
//	kplane.io/cpu-usage.<container>: "100m"  one container's CPU
//	kplane.io/memory-usage.<container>: "1Gi"
//
// A container's own annotation wins; a pod total is split among the
// containers without their own annotation in proportion to their requests
// (evenly when none requests the resource), after subtracting what the
// per-container annotations already account for. Annotated values are exact.
//
// Otherwise a container uses Config.RequestFraction of its request (or the
// Config.Default* amount when it requests nothing), varied by at most
// ±Config.Jitter with a pseudo-random factor seeded by the pod UID, the
// container name and the index of the time window, so a pod's usage is
// stable within a window, changes from one window to the next, and is the
// same on every API server that computes it.
//
// Only Running pods use anything. Init containers (including restartable
// "sidecar" ones) are not modelled. A node uses the sum of its Running
// pods plus a fixed system overhead (Config.NodeOverhead*).
package usage
