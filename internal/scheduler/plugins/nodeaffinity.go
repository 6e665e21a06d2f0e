package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/nodeselector"
)

// NodeAffinity filters by spec.nodeSelector and required node affinity
// and scores by the weights of matching preferred terms.
type NodeAffinity struct{}

var (
	_ framework.FilterPlugin   = NodeAffinity{}
	_ framework.PreScorePlugin = NodeAffinity{}
	_ framework.ScorePlugin    = NodeAffinity{}
)

// Name implements framework.Plugin.
func (NodeAffinity) Name() string { return NameNodeAffinity }

// Filter implements framework.FilterPlugin.
func (NodeAffinity) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if !nodeselector.PodMatches(pod, n.Node()) {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNodeAffinity)
	}
	return nil
}

// PreScore skips pods without preferred terms.
func (NodeAffinity) PreScore(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if a := pod.Spec.Affinity; a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (NodeAffinity) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil {
		for i := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			t := &a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution[i]
			if t.Weight != 0 && nodeselector.TermMatches(&t.Preference, n.Node()) {
				sum += int64(t.Weight)
			}
		}
	}
	return sum, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (NodeAffinity) ScoreExtensions() framework.ScoreExtensions { return forwardNormalizer{} }

type forwardNormalizer struct{}

func (forwardNormalizer) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, s []framework.NodeScore) *framework.Status {
	DefaultNormalizeScore(framework.MaxNodeScore, false, s)
	return nil
}
