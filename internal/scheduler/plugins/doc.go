// Package plugins implements kube-scheduler's basic filter and score
// plugins over the framework package (NodeResourcesFit, NodeName,
// NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts,
// BalancedAllocation), adapters for the interpod package's affinity and
// spread rules, the message-only preemption PostFilter and the default
// profile with upstream's weights. Reason strings match upstream exactly
// because users read them in FailedScheduling events.
package plugins
