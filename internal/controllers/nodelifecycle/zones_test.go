package nodelifecycle

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func conds(ready, notReady, missing int) []*corev1.NodeCondition {
	var out []*corev1.NodeCondition
	for range ready {
		out = append(out, &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue})
	}
	for range notReady {
		out = append(out, &corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown})
	}
	for range missing {
		out = append(out, nil)
	}
	return out
}

func TestComputeZoneState(t *testing.T) {
	for _, tc := range []struct {
		name                string
		ready, bad, missing int
		wantUnhealthy       int
		want                ZoneState
	}{
		{"all ready", 5, 0, 0, 0, StateNormal},
		{"one of one down", 0, 1, 0, 1, StateFullDisruption},
		{"missing condition counts as down", 0, 0, 2, 2, StateFullDisruption},
		{"two of two down is full", 0, 2, 0, 2, StateFullDisruption},
		{"two down is never partial", 1, 2, 0, 2, StateNormal},
		{"three of five down (60%) is partial", 2, 3, 0, 3, StatePartialDisruption},
		{"three of six down (50%) is normal", 3, 3, 0, 3, StateNormal},
		{"exactly the threshold is partial", 9, 11, 0, 11, StatePartialDisruption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, s := computeZoneState(conds(tc.ready, tc.bad, tc.missing), DefaultUnhealthyZoneThreshold)
			if n != tc.wantUnhealthy || s != tc.want {
				t.Fatalf("computeZoneState = %d, %s; want %d, %s", n, s, tc.wantUnhealthy, tc.want)
			}
		})
	}
}

func TestZoneRate(t *testing.T) {
	o := Options{}.WithDefaults()
	for _, tc := range []struct {
		name  string
		state ZoneState
		size  int
		want  float32
	}{
		{"normal zone evicts at the primary rate", StateNormal, 10, 0.1},
		{"fully disrupted zone (others fine) evicts at the primary rate", StateFullDisruption, 10, 0.1},
		{"small partially disrupted zone stops", StatePartialDisruption, 50, 0},
		{"large partially disrupted zone slows down", StatePartialDisruption, 51, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := zoneRate(o, tc.state, tc.size); got != tc.want {
				t.Fatalf("zoneRate = %v, want %v", got, tc.want)
			}
		})
	}
}

// drain returns the nodes try releases now.
func drain(q *rateLimitedQueue) []string {
	var got []string
	q.try(func(name, _ string) (bool, time.Duration) {
		got = append(got, name)
		return true, 0
	})
	return got
}

func TestRateLimitedQueue(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1000, 0))
	q := newRateLimitedQueue(0.1, clk) // one node per 10s, burst 1
	for _, n := range []string{"a", "b", "c"} {
		if !q.add(n, "uid-"+n) {
			t.Fatalf("add %s: not added", n)
		}
		clk.Step(time.Millisecond) // keep insertion order in processAt
	}
	if q.add("a", "uid-a") {
		t.Fatal("a queued twice")
	}
	if got := drain(q); len(got) != 1 || got[0] != "a" {
		t.Fatalf("first pass released %v, want [a] (burst 1)", got)
	}
	clk.Step(5 * time.Second)
	if got := drain(q); len(got) != 0 {
		t.Fatalf("after 5s released %v, want nothing at 0.1/s", got)
	}
	clk.Step(5 * time.Second)
	if got := drain(q); len(got) != 1 || got[0] != "b" {
		t.Fatalf("after 10s released %v, want [b]", got)
	}
	if !q.remove("c") || q.len() != 0 {
		t.Fatalf("remove c: queue length %d", q.len())
	}

	// A zero rate (full disruption everywhere) releases nothing.
	q.add("d", "uid-d")
	q.swapLimiter(0)
	clk.Step(time.Hour)
	if got := drain(q); len(got) != 0 {
		t.Fatalf("zero rate released %v", got)
	}
	q.swapLimiter(1)
	if got := drain(q); len(got) != 1 {
		t.Fatalf("rate restored released %v, want [d]", got)
	}

	// A failed attempt is retried after the delay it asked for.
	q.add("e", "uid-e")
	clk.Step(time.Second)
	q.try(func(string, string) (bool, time.Duration) { return false, 3 * time.Second })
	clk.Step(2 * time.Second)
	if got := drain(q); len(got) != 0 {
		t.Fatalf("retry released early: %v", got)
	}
	clk.Step(2 * time.Second)
	if got := drain(q); len(got) != 1 || got[0] != "e" {
		t.Fatalf("retry released %v, want [e]", got)
	}
}

func TestZoneKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"no labels", nil, ""},
		{"zone only", map[string]string{corev1.LabelTopologyZone: "a"}, ":\x00:a"},
		{"region and zone", map[string]string{corev1.LabelTopologyRegion: "r", corev1.LabelTopologyZone: "a"}, "r:\x00:a"},
		{"beta labels", map[string]string{corev1.LabelFailureDomainBetaZone: "b"}, ":\x00:b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := zoneKey(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels}}); got != tc.want {
				t.Fatalf("zoneKey = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMinTolerationTime(t *testing.T) {
	tol := func(s *int64) corev1.Toleration {
		return corev1.Toleration{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: s}
	}
	for _, tc := range []struct {
		name string
		tols []corev1.Toleration
		want time.Duration
	}{
		{"none means now", nil, 0},
		{"forever", []corev1.Toleration{tol(nil)}, -1},
		{"smallest wins", []corev1.Toleration{tol(ptr.To[int64](300)), tol(ptr.To[int64](2)), tol(nil)}, 2 * time.Second},
		{"negative means now", []corev1.Toleration{tol(ptr.To[int64](-5))}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := minTolerationTime(tc.tols); got != tc.want {
				t.Fatalf("minTolerationTime = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNoScheduleDiff(t *testing.T) {
	node := &corev1.Node{
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{
			{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule},
			{Key: "user", Effect: corev1.TaintEffectNoSchedule},
		}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}},
	}
	add, del := noScheduleDiff(node)
	if len(add) != 1 || add[0].Key != corev1.TaintNodeUnreachable || len(del) != 1 || del[0].Key != corev1.TaintNodeNotReady {
		t.Fatalf("noScheduleDiff = add %v, del %v; want add unreachable, del not-ready (user taint kept)", add, del)
	}
}
