package podautoscaler

import (
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// defaultBehavior is what the API server defaults an empty behavior to.
func defaultBehavior() *autoscalingv2.HorizontalPodAutoscalerBehavior {
	return &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleUp: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To(int32(0)), SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
			Policies: []autoscalingv2.HPAScalingPolicy{
				{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
				{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
			},
		},
		ScaleDown: &autoscalingv2.HPAScalingRules{
			StabilizationWindowSeconds: ptr.To(int32(300)), SelectPolicy: ptr.To(autoscalingv2.MaxChangePolicySelect),
			Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
		},
	}
}

// step is one reconciliation: at offset, the target has current replicas
// and the metrics want desired; normalization should give want.
type step struct {
	offset                 time.Duration
	current, desired, want int32
	stabilized, limit      string // expected reasons ("" to skip)
}

func run(t *testing.T, b *autoscalingv2.HorizontalPodAutoscalerBehavior, minR, maxR int32, steps []step) {
	t.Helper()
	var hs history
	for i, s := range steps {
		now := t0.Add(s.offset)
		hs.recordInitial(s.current, now)
		var got int32
		var l limits
		if b == nil {
			got, l = hs.normalizeLegacy(now, 5*time.Minute, s.current, s.desired, minR, maxR)
		} else {
			got, l = hs.normalizeWithBehavior(now, b, s.current, s.desired, minR, maxR)
		}
		if got != s.want {
			t.Fatalf("step %d (%+v): got %d (%+v)", i, s, got, l)
		}
		if s.stabilized != "" && l.stabilizedReason != s.stabilized {
			t.Errorf("step %d: AbleToScale reason %q, want %q", i, l.stabilizedReason, s.stabilized)
		}
		if s.limit != "" && l.limitReason != s.limit {
			t.Errorf("step %d: ScalingLimited reason %q, want %q", i, l.limitReason, s.limit)
		}
		if s.limit == "DesiredWithinRange" && l.limited {
			t.Errorf("step %d: limited within range", i)
		}
		hs.recordScale(now, b, s.current, got)
	}
}

func TestBehaviorScaleUpPolicies(t *testing.T) {
	// Default: 4 pods or 100% per 15s, whichever is more.
	run(t, defaultBehavior(), 1, 100, []step{
		{offset: 0, current: 2, desired: 20, want: 6, stabilized: "ReadyForNewScale", limit: "ScaleUpLimit"},
		// 5s later the period started at 2 replicas: no further growth.
		{offset: 5 * time.Second, current: 6, desired: 20, want: 6, limit: "ScaleUpLimit"},
		// After the period, 100% of 6 beats 4 pods.
		{offset: 16 * time.Second, current: 6, desired: 20, want: 12, limit: "ScaleUpLimit"},
		{offset: 32 * time.Second, current: 12, desired: 20, want: 20, limit: "DesiredWithinRange"},
	})
	// selectPolicy Min takes the smaller of the two.
	b := defaultBehavior()
	b.ScaleUp.SelectPolicy = ptr.To(autoscalingv2.MinChangePolicySelect)
	run(t, b, 1, 100, []step{{current: 10, desired: 40, want: 14, limit: "ScaleUpLimit"}})
	// Disabled: never up.
	b.ScaleUp.SelectPolicy = ptr.To(autoscalingv2.DisabledPolicySelect)
	run(t, b, 1, 100, []step{{current: 3, desired: 9, want: 3, limit: "ScaleUpLimit"}})
	// maxReplicas below the policy limit.
	run(t, defaultBehavior(), 1, 5, []step{{current: 3, desired: 9, want: 5, limit: "TooManyReplicas"}})
}

func TestBehaviorScaleDownStabilization(t *testing.T) {
	b := defaultBehavior()
	b.ScaleDown.StabilizationWindowSeconds = ptr.To(int32(60))
	run(t, b, 1, 100, []step{
		{offset: 0, current: 10, desired: 10, want: 10, stabilized: "ReadyForNewScale"},
		// Usage dropped: the highest recommendation of the last 60s (10) wins.
		{offset: 20 * time.Second, current: 10, desired: 2, want: 10, stabilized: "ScaleDownStabilized"},
		{offset: 40 * time.Second, current: 10, desired: 3, want: 10, stabilized: "ScaleDownStabilized"},
		// The 10 left the window; 3 (at 40s) is the highest left.
		{offset: 61 * time.Second, current: 10, desired: 2, want: 3, stabilized: "ScaleDownStabilized"},
		{offset: 101 * time.Second, current: 3, desired: 2, want: 2},
	})
	// A scale-down policy of 50% per minute and minReplicas.
	b.ScaleDown.StabilizationWindowSeconds = ptr.To(int32(0))
	b.ScaleDown.Policies = []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 50, PeriodSeconds: 60}}
	run(t, b, 2, 100, []step{
		{offset: 0, current: 10, desired: 1, want: 5, limit: "ScaleDownLimit"},
		{offset: 30 * time.Second, current: 5, desired: 1, want: 5, limit: "ScaleDownLimit"},
		{offset: 61 * time.Second, current: 5, desired: 1, want: 2, limit: "TooFewReplicas"},
	})
	b.ScaleDown.SelectPolicy = ptr.To(autoscalingv2.DisabledPolicySelect)
	run(t, b, 1, 100, []step{{current: 10, desired: 1, want: 10, limit: "ScaleDownLimit"}})
}

func TestBehaviorScaleUpStabilization(t *testing.T) {
	b := defaultBehavior()
	b.ScaleUp.StabilizationWindowSeconds = ptr.To(int32(30))
	run(t, b, 1, 100, []step{
		{offset: 0, current: 2, desired: 2, want: 2},
		// A spike: the lowest recommendation of the last 30s (2) wins.
		{offset: 10 * time.Second, current: 2, desired: 5, want: 2, stabilized: "ScaleUpStabilized"},
		{offset: 20 * time.Second, current: 2, desired: 4, want: 2, stabilized: "ScaleUpStabilized"},
		// 2 left the window; the lowest left is 4.
		{offset: 31 * time.Second, current: 2, desired: 6, want: 4, stabilized: "ScaleUpStabilized"},
	})
}

func TestLegacyNormalization(t *testing.T) {
	run(t, nil, 1, 100, []step{
		// Up to max(2x, 4) per reconciliation.
		{offset: 0, current: 1, desired: 10, want: 4, limit: "ScaleUpLimit"},
		{offset: 15 * time.Second, current: 4, desired: 10, want: 8, limit: "ScaleUpLimit"},
		{offset: 30 * time.Second, current: 8, desired: 10, want: 10, limit: "DesiredWithinRange"},
		// Down only to the highest recommendation of the last 5 minutes.
		{offset: 60 * time.Second, current: 10, desired: 2, want: 10, stabilized: "ScaleDownStabilized"},
		{offset: 6 * time.Minute, current: 10, desired: 2, want: 2, stabilized: "ReadyForNewScale"},
	})
	run(t, nil, 3, 100, []step{{current: 4, desired: 1, want: 4, stabilized: "ScaleDownStabilized"}})
	run(t, nil, 3, 100, []step{{offset: time.Hour, current: 4, desired: 4, want: 4}, {offset: 2 * time.Hour, current: 4, desired: 1, want: 3, limit: "TooFewReplicas"}})
}

func TestTolerancesFor(t *testing.T) {
	b := defaultBehavior()
	if got := tolerancesFor(b, 0.1); got != (tolerances{0.1, 0.1}) {
		t.Errorf("default = %+v", got)
	}
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	b.ScaleUp.Tolerance, b.ScaleDown.Tolerance = q("0.05"), q("0.5")
	if got := tolerancesFor(b, 0.1); got != (tolerances{down: 0.5, up: 0.05}) {
		t.Errorf("configured = %+v", got)
	}
	if !(tolerances{down: 0.5, up: 0.05}).within(0.6) || (tolerances{down: 0.5, up: 0.05}).within(1.06) {
		t.Error("within does not apply the per-direction tolerances")
	}
}
