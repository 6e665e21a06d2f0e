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

// RunPostFilter runs the PostFilters until one succeeds and returns the
// last status (its message joins the FailedScheduling text).
func (p *Profile) RunPostFilter(ctx context.Context, state *CycleState, pod *corev1.Pod, statuses map[string]*Status) *Status {
	var last *Status
	for _, pl := range p.PostFilter {
		s := pl.PostFilter(ctx, state, pod, statuses)
		if s.IsSuccess() {
			return s
		}
		last = s.WithPlugin(pl.Name())
	}
	return last
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
