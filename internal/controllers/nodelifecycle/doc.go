// Package nodelifecycle owns node health and taint-based eviction, as
// upstream's node lifecycle controller (pkg/controller/nodelifecycle) and
// taint eviction controller (pkg/controller/tainteviction):
//
//   - the node lifecycle controller watches each node's Lease in
//     kube-node-lease and its Ready condition heartbeat; a node silent for
//     longer than the grace period gets its conditions set to Unknown, its
//     pods marked not ready, and (rate limited per zone) the
//     node.kubernetes.io/unreachable or not-ready NoExecute taint; condition
//     taints with effect NoSchedule follow the conditions; recovery removes
//     the taints;
//   - the taint eviction controller deletes pods on nodes with NoExecute
//     taints they do not tolerate, after the smallest tolerationSeconds of
//     the matching tolerations.
package nodelifecycle
