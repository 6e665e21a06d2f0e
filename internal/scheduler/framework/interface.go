package framework

import (
	"context"

	corev1 "k8s.io/api/core/v1"
)

// MaxNodeScore is the highest score a Score plugin returns after
// normalization, as upstream.
const MaxNodeScore int64 = 100

// Plugin is anything with a name.
type Plugin interface{ Name() string }

// PreFilterPlugin computes per-pod state before filtering; a rejection
// fails the pod on every node at once.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// FilterPlugin decides whether a pod may run on a node. It runs in
// parallel over nodes and must only read state and node.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// PreFilterExtensions is implemented by PreFilter plugins whose state
// depends on the pods on nodes (inter-pod rules): preemption and nominated
// pods ask "what if this pod were added to / removed from that node" on a
// cloned state instead of recomputing it.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToAdd *PodInfo, node *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, podToSchedule *corev1.Pod, podToRemove *PodInfo, node *NodeInfo) *Status
}

// PostFilterResult is what a successful PostFilter asks of the scheduler.
type PostFilterResult struct {
	// NominatedNodeName is where the pod should go once preemption
	// victims are gone; "" clears an earlier nomination.
	NominatedNodeName string
}

// PostFilterPlugin runs when no node fits (upstream: preemption). A nil
// result leaves the pod's nomination as it is.
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses map[string]*Status) (*PostFilterResult, *Status)
}

// NominatedPods lists the pods nominated to run on a node: preemptors
// waiting for their victims to leave, whose room other pods must not take.
type NominatedPods interface {
	NominatedPodsForNode(node string) []*PodInfo
}

// PreScorePlugin computes per-pod state over the feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks a feasible node; it runs in parallel over nodes.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) (int64, *Status)
	// ScoreExtensions returns nil when scores are already in
	// [0, MaxNodeScore].
	ScoreExtensions() ScoreExtensions
}

// ScoreExtensions rescales a plugin's raw scores into [0, MaxNodeScore].
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *corev1.Pod, scores []NodeScore) *Status
}

// ReservePlugin holds resources for an assumed pod; Unreserve undoes it
// when binding fails.
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string)
}

// BindPlugin writes the placement to the API.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}
