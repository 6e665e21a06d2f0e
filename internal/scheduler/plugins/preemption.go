package plugins

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
)

// DefaultPreemption is a PostFilter that reports what upstream's
// preemption would say without evicting anything: nodes rejected as
// unresolvable are "Preemption is not helpful for scheduling"; other
// rejected nodes without lower-priority pods have "No preemption victims
// found for incoming pod"; nodes that do have lower-priority pods keep
// their filter reasons (kplane does not preempt yet).
type DefaultPreemption struct {
	// Lookup returns the NodeInfo of a node in the cycle's snapshot.
	Lookup func(name string) *framework.NodeInfo
}

var _ framework.PostFilterPlugin = DefaultPreemption{}

// Name implements framework.Plugin.
func (DefaultPreemption) Name() string { return NameDefaultPreemption }

// PostFilter always fails (no victims are chosen) with upstream's
// "preemption: ..." message.
func (p DefaultPreemption) PostFilter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, statuses map[string]*framework.Status) *framework.Status {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == corev1.PreemptNever {
		return framework.NewStatus(framework.Unschedulable, "preemption: not eligible due to preemptionPolicy=Never.")
	}
	out := make(map[string]*framework.Status, len(statuses))
	for name, s := range statuses {
		switch {
		case s.Code() == framework.UnschedulableAndUnresolvable:
			out[name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonPreemptionUseless)
		case p.Lookup == nil || !hasLowerPriority(p.Lookup(name), podPriority(pod)):
			out[name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, ReasonNoVictims)
		default:
			out[name] = s
		}
	}
	fe := &framework.FitError{Pod: pod, NumAllNodes: len(statuses), Statuses: out}
	return framework.NewStatus(framework.Unschedulable, fmt.Sprintf("preemption: %s", fe.Error()))
}

func podPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func hasLowerPriority(n *framework.NodeInfo, prio int32) bool {
	if n == nil {
		return false
	}
	for _, p := range n.Pods() {
		if podPriority(p) < prio {
			return true
		}
	}
	return false
}
