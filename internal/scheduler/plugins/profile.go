package plugins

import "kplane/internal/scheduler/framework"

// Weights are the score plugin weights; zero fields get upstream's
// defaults (TaintToleration 3, NodeAffinity 2, PodTopologySpread 2,
// InterPodAffinity 2, NodeResourcesFit 1, BalancedAllocation 1). A
// negative weight disables the plugin's score.
type Weights struct {
	NodeResourcesFit, BalancedAllocation, TaintToleration, NodeAffinity, InterPodAffinity, PodTopologySpread int64
}

// WithDefaults fills zero weights.
func (w Weights) WithDefaults() Weights {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&w.NodeResourcesFit, 1)
	def(&w.BalancedAllocation, 1)
	def(&w.TaintToleration, 3)
	def(&w.NodeAffinity, 2)
	def(&w.InterPodAffinity, 2)
	def(&w.PodTopologySpread, 2)
	return w
}

// ProfileOptions configures DefaultProfile.
type ProfileOptions struct {
	SchedulerName string
	Weights       Weights
	// Preemption wires DefaultPreemption (its Lookup finds a node in the
	// current snapshot).
	Preemption PreemptionOptions
	// Nominated lists pods nominated to nodes by preemption (nil: none).
	Nominated framework.NominatedPods
	// Interpod configures the inter-pod affinity and spread adapters.
	Interpod InterpodOptions
	// Bind is the binder (required to run; tests may leave it nil).
	Bind framework.BindPlugin
}

// DefaultProfile returns upstream's default plugin set, in upstream's
// filter order.
func DefaultProfile(o ProfileOptions) *framework.Profile {
	w := o.Weights.WithDefaults()
	fit, ipa, spread := Fit{}, NewInterPodAffinity(o.Interpod), NewPodTopologySpread(o.Interpod)
	preemption := NewDefaultPreemption(o.Preemption)
	p := &framework.Profile{
		SchedulerName: o.SchedulerName,
		PreFilter:     []framework.PreFilterPlugin{fit, spread, ipa},
		Filter: []framework.FilterPlugin{
			NodeUnschedulable{}, NodeName{}, TaintToleration{}, NodeAffinity{}, NodePorts{}, fit, spread, ipa,
		},
		PostFilter: []framework.PostFilterPlugin{preemption},
		PreScore:   []framework.PreScorePlugin{BalancedAllocation{}, NodeAffinity{}, spread, ipa},
		Bind:       o.Bind,
		Nominated:  o.Nominated,
	}
	preemption.Profile = p
	for _, s := range []framework.WeightedScore{
		{Plugin: TaintToleration{}, Weight: w.TaintToleration},
		{Plugin: NodeAffinity{}, Weight: w.NodeAffinity},
		{Plugin: spread, Weight: w.PodTopologySpread},
		{Plugin: ipa, Weight: w.InterPodAffinity},
		{Plugin: fit, Weight: w.NodeResourcesFit},
		{Plugin: BalancedAllocation{}, Weight: w.BalancedAllocation},
	} {
		if s.Weight > 0 {
			p.Score = append(p.Score, s)
		}
	}
	return p
}
