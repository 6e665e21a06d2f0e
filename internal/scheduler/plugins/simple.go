package plugins

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
)

// NodeName rejects nodes other than a pod's spec.nodeName.
type NodeName struct{}

var _ framework.FilterPlugin = NodeName{}

// Name implements framework.Plugin.
func (NodeName) Name() string { return NameNodeName }

// Filter implements framework.FilterPlugin.
func (NodeName) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if pod.Spec.NodeName != "" && pod.Spec.NodeName != n.Name() {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNodeName)
	}
	return nil
}

// NodeUnschedulable rejects cordoned nodes unless the pod tolerates the
// node.kubernetes.io/unschedulable:NoSchedule taint.
type NodeUnschedulable struct{}

var _ framework.FilterPlugin = NodeUnschedulable{}

// Name implements framework.Plugin.
func (NodeUnschedulable) Name() string { return NameNodeUnschedulable }

// Filter implements framework.FilterPlugin.
func (NodeUnschedulable) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	if !n.Node().Spec.Unschedulable {
		return nil
	}
	taint := corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}
	if tolerated(pod.Spec.Tolerations, &taint) {
		return nil
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonUnschedulable)
}

// NodePorts rejects nodes where a requested host port is taken.
type NodePorts struct{}

var _ framework.FilterPlugin = NodePorts{}

// Name implements framework.Plugin.
func (NodePorts) Name() string { return NameNodePorts }

// Filter implements framework.FilterPlugin.
func (NodePorts) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort > 0 && n.UsedPorts.CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
					return framework.NewStatus(framework.Unschedulable, ReasonNodePorts)
				}
			}
		}
	}
	return nil
}

// TaintToleration filters out nodes with an untolerated NoSchedule or
// NoExecute taint and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
type TaintToleration struct{}

var (
	_ framework.FilterPlugin = TaintToleration{}
	_ framework.ScorePlugin  = TaintToleration{}
)

// Name implements framework.Plugin.
func (TaintToleration) Name() string { return NameTaintToleration }

// Filter implements framework.FilterPlugin.
func (TaintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	for i := range n.Node().Spec.Taints {
		t := &n.Node().Spec.Taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		if !tolerated(pod.Spec.Tolerations, t) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable,
				fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value))
		}
	}
	return nil
}

// Score counts untolerated PreferNoSchedule taints (normalized in
// reverse: fewer is better).
func (TaintToleration) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var count int64
	for i := range n.Node().Spec.Taints {
		t := &n.Node().Spec.Taints[i]
		if t.Effect != corev1.TaintEffectPreferNoSchedule {
			continue
		}
		tolerates := false
		for j := range pod.Spec.Tolerations {
			tol := &pod.Spec.Tolerations[j]
			if (tol.Effect == "" || tol.Effect == corev1.TaintEffectPreferNoSchedule) && toleratesTaint(tol, t) {
				tolerates = true
				break
			}
		}
		if !tolerates {
			count++
		}
	}
	return count, nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (TaintToleration) ScoreExtensions() framework.ScoreExtensions { return reverseNormalizer{} }

type reverseNormalizer struct{}

func (reverseNormalizer) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, s []framework.NodeScore) *framework.Status {
	DefaultNormalizeScore(framework.MaxNodeScore, true, s)
	return nil
}

// DefaultNormalizeScore scales scores to [0, maxPriority] by the highest
// score, reversing them if asked, as upstream's helper.
func DefaultNormalizeScore(maxPriority int64, reverse bool, scores []framework.NodeScore) {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s.Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return
	}
	for i := range scores {
		s := maxPriority * scores[i].Score / highest
		if reverse {
			s = maxPriority - s
		}
		scores[i].Score = s
	}
}

// tolerated reports whether any toleration tolerates t.
func tolerated(tols []corev1.Toleration, t *corev1.Taint) bool {
	for i := range tols {
		if toleratesTaint(&tols[i], t) {
			return true
		}
	}
	return false
}

// toleratesTaint is upstream's Toleration.ToleratesTaint: effects must
// match unless the toleration's is empty; an empty key with Exists
// tolerates everything.
func toleratesTaint(tol *corev1.Toleration, t *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != t.Key {
		return false
	}
	switch tol.Operator {
	case "", corev1.TolerationOpEqual:
		return tol.Value == t.Value
	case corev1.TolerationOpExists:
		return true
	}
	return false
}
