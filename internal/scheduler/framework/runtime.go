package framework

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// WeightedScore is a score plugin with its weight in the total.
type WeightedScore struct {
	Plugin ScorePlugin
	Weight int64
}

// Profile is one scheduler profile: its plugins per extension point, in
// order.
type Profile struct {
	SchedulerName string
	PreFilter     []PreFilterPlugin
	Filter        []FilterPlugin
	PostFilter    []PostFilterPlugin
	PreScore      []PreScorePlugin
	Score         []WeightedScore
	Reserve       []ReservePlugin
	Bind          BindPlugin
	// Nominated lists pods nominated to nodes (nil: none); filters account
	// for those of at least the incoming pod's priority.
	Nominated NominatedPods
}

// RunPreFilter runs every PreFilter; a Skip marks the plugin's Filter as
// skipped for this pod. The first failure stops the run.
func (p *Profile) RunPreFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status {
	for _, pl := range p.PreFilter {
		s := pl.PreFilter(ctx, state, pod, nodes)
		switch {
		case s.IsSkip():
			state.SkipFilter[pl.Name()] = true
		case !s.IsSuccess():
			return s.WithPlugin(pl.Name())
		}
	}
	state.filters = make([]FilterPlugin, 0, len(p.Filter))
	for _, pl := range p.Filter {
		if !state.SkipFilter[pl.Name()] {
			state.filters = append(state.filters, pl)
		}
	}
	return nil
}

// RunFilter runs the filters on one node, stopping at the first
// rejection (as upstream without RunAllFilters).
func (p *Profile) RunFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status {
	filters := state.filters
	if filters == nil {
		filters = p.Filter
	}
	for _, pl := range filters {
		if s := pl.Filter(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunPostFilter runs the PostFilters until one succeeds and returns its
// result, or the last result and status (its message joins the
// FailedScheduling text).
func (p *Profile) RunPostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses map[string]*Status) (*PostFilterResult, *Status) {
	var (
		last   *Status
		result *PostFilterResult
	)
	for _, pl := range p.PostFilter {
		r, s := pl.PostFilter(ctx, state, pod, statuses)
		if s.IsSuccess() {
			return r, s
		}
		if r != nil {
			result = r
		}
		last = s.WithPlugin(pl.Name())
	}
	return result, last
}

// NominatedFor returns the pods nominated to node that the incoming pod
// must leave room for: other pods of equal or higher priority (upstream's
// addGENominatedPods). It is nil in the common case of no nominations.
func (p *Profile) NominatedFor(pod *corev1.Pod, node string) []*PodInfo {
	if p.Nominated == nil {
		return nil
	}
	all := p.Nominated.NominatedPodsForNode(node)
	if len(all) == 0 {
		return nil
	}
	prio := PodPriority(pod)
	var out []*PodInfo
	for _, pi := range all {
		if pi.Pod.UID != pod.UID && PodPriority(pi.Pod) >= prio {
			out = append(out, pi)
		}
	}
	return out
}

// RunFilterWithNominatedPods is RunFilter that also keeps room for the
// node's nominated pods of equal or higher priority: as upstream, the pod
// must fit both with them (resources, anti-affinity) and without them
// (affinity to a nominated pod must not count, since it may go elsewhere).
func (p *Profile) RunFilterWithNominatedPods(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status {
	nominated := p.NominatedFor(pod, node.Name())
	if len(nominated) > 0 {
		stateCopy, nodeCopy := state.Clone(), node.Clone()
		for _, pi := range nominated {
			nodeCopy.AddPodInfo(pi)
			if s := p.RunPreFilterAddPod(ctx, stateCopy, pod, pi, nodeCopy); !s.IsSuccess() {
				return s
			}
		}
		if s := p.RunFilter(ctx, stateCopy, pod, nodeCopy); !s.IsSuccess() {
			return s
		}
	}
	return p.RunFilter(ctx, state, pod, node)
}

// RunPreFilterAddPod tells the PreFilterExtensions of the plugins not
// skipped that podToAdd now runs on node.
func (p *Profile) RunPreFilterAddPod(ctx context.Context, state *CycleState, pod *corev1.Pod, podToAdd *PodInfo, node *NodeInfo) *Status {
	for _, pl := range p.PreFilter {
		ext, ok := pl.(PreFilterExtensions)
		if !ok || state.SkipFilter[pl.Name()] {
			continue
		}
		if s := ext.AddPod(ctx, state, pod, podToAdd, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunPreFilterRemovePod tells the PreFilterExtensions of the plugins not
// skipped that podToRemove no longer runs on node.
func (p *Profile) RunPreFilterRemovePod(ctx context.Context, state *CycleState, pod *corev1.Pod, podToRemove *PodInfo, node *NodeInfo) *Status {
	for _, pl := range p.PreFilter {
		ext, ok := pl.(PreFilterExtensions)
		if !ok || state.SkipFilter[pl.Name()] {
			continue
		}
		if s := ext.RemovePod(ctx, state, pod, podToRemove, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunPreScore runs every PreScore; Skip marks the plugin's Score skipped.
func (p *Profile) RunPreScore(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) *Status {
	for _, pl := range p.PreScore {
		s := pl.PreScore(ctx, state, pod, nodes)
		switch {
		case s.IsSkip():
			state.SkipScore[pl.Name()] = true
		case !s.IsSuccess():
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// ScorePlugins lists the score plugins not skipped for this pod.
func (p *Profile) ScorePlugins(state *CycleState) []WeightedScore {
	if len(state.SkipScore) == 0 {
		return p.Score
	}
	out := make([]WeightedScore, 0, len(p.Score))
	for _, w := range p.Score {
		if !state.SkipScore[w.Plugin.Name()] {
			out = append(out, w)
		}
	}
	return out
}

// RunReserve reserves in order and unreserves all on failure.
func (p *Profile) RunReserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status {
	for _, pl := range p.Reserve {
		if s := pl.Reserve(ctx, state, pod, nodeName); !s.IsSuccess() {
			p.RunUnreserve(ctx, state, pod, nodeName)
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunUnreserve undoes Reserve in reverse order.
func (p *Profile) RunUnreserve(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) {
	for i := len(p.Reserve) - 1; i >= 0; i-- {
		p.Reserve[i].Unreserve(ctx, state, pod, nodeName)
	}
}

// RunBind binds with the profile's binder.
func (p *Profile) RunBind(ctx context.Context, state *CycleState, pod *corev1.Pod, nodeName string) *Status {
	if p.Bind == nil {
		return AsStatus(fmt.Errorf("profile %q has no bind plugin", p.SchedulerName))
	}
	return p.Bind.Bind(ctx, state, pod, nodeName).WithPlugin(p.Bind.Name())
}
