package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/interpod"
)

// InterPodAffinity adapts the interpod package's affinity rules. The
// per-pod state is built in PreFilter over all nodes and reused by Score.
//
// TODO(interpod): pass namespace labels for namespaceSelector terms once
// the interpod package's options settle.
type InterPodAffinity struct{}

const affinityKey framework.StateKey = "PreFilter" + NameInterPodAffinity

var (
	_ framework.PreFilterPlugin = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin    = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin  = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin     = (*InterPodAffinity)(nil)
)

// Name implements framework.Plugin.
func (*InterPodAffinity) Name() string { return NameInterPodAffinity }

// HasPodAffinity reports whether the pod has any pod (anti-)affinity.
func HasPodAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

func asNodes(nodes []*framework.NodeInfo) []interpod.Node {
	out := make([]interpod.Node, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out
}

// PreFilter builds the affinity state, or skips the plugin when neither
// the pod nor any existing pod has affinity terms that could matter.
func (p *InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if !HasPodAffinity(pod) && !anyRequiredAntiAffinity(nodes) {
		return framework.NewStatus(framework.Skip)
	}
	s, err := interpod.PreFilterAffinity(pod, asNodes(nodes))
	if err != nil {
		return framework.AsStatus(err)
	}
	state.Write(affinityKey, s)
	return nil
}

func anyRequiredAntiAffinity(nodes []*framework.NodeInfo) bool {
	for _, n := range nodes {
		if n.PodsWithRequiredAntiAffinity > 0 {
			return true
		}
	}
	return false
}

// Filter implements framework.FilterPlugin.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	d, err := state.Read(affinityKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	ok, reason := d.(*interpod.AffinityState).Filter(pod, n)
	if ok {
		return nil
	}
	code := framework.Unschedulable
	if reason == interpod.ReasonAffinityRulesNotMatch {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, reason)
}

// PreScore skips pods without pod affinity whose PreFilter was skipped.
func (p *InterPodAffinity) PreScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if _, err := state.Read(affinityKey); err != nil {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score implements framework.ScorePlugin.
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(affinityKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return d.(*interpod.AffinityState).Score(pod, n), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *InterPodAffinity) ScoreExtensions() framework.ScoreExtensions {
	return sliceNormalizer(interpod.NormalizeAffinityScores)
}

// sliceNormalizer adapts interpod's []int64 normalizers.
type sliceNormalizer func([]int64)

func (f sliceNormalizer) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, s []framework.NodeScore) *framework.Status {
	raw := make([]int64, len(s))
	for i := range s {
		raw[i] = s[i].Score
	}
	f(raw)
	for i := range s {
		s[i].Score = raw[i]
	}
	return nil
}

// PodTopologySpread adapts the interpod package's topology spread rules
// for pods that declare topologySpreadConstraints.
type PodTopologySpread struct{}

const spreadKey framework.StateKey = "PreFilter" + NamePodTopologySpread

var (
	_ framework.PreFilterPlugin = PodTopologySpread{}
	_ framework.FilterPlugin    = PodTopologySpread{}
	_ framework.PreScorePlugin  = PodTopologySpread{}
	_ framework.ScorePlugin     = PodTopologySpread{}
)

// Name implements framework.Plugin.
func (PodTopologySpread) Name() string { return NamePodTopologySpread }

// PreFilter builds the spread state for pods with constraints.
func (PodTopologySpread) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	s, err := interpod.PreFilterSpread(pod, asNodes(nodes))
	if err != nil {
		return framework.AsStatus(err)
	}
	state.Write(spreadKey, s)
	return nil
}

// Filter implements framework.FilterPlugin.
func (PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	d, err := state.Read(spreadKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	ok, reason := d.(*interpod.SpreadState).Filter(pod, n)
	if ok {
		return nil
	}
	code := framework.Unschedulable
	if reason == interpod.ReasonSpreadMissingLabel {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, reason)
}

// PreScore skips pods without constraints.
func (PodTopologySpread) PreScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if _, err := state.Read(spreadKey); err != nil {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score implements framework.ScorePlugin.
func (PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(spreadKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return d.(*interpod.SpreadState).Score(pod, n), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (PodTopologySpread) ScoreExtensions() framework.ScoreExtensions {
	return sliceNormalizer(interpod.NormalizeSpreadScores)
}
