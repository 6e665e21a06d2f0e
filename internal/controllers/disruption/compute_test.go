package disruption

import (
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// pods makes n pods p0..; the first ready of them are Ready; owner is
// their controller's UID ("" for none).
func pods(n, ready int, owner string) []*corev1.Pod {
	var out []*corev1.Pod
	for i := 0; i < n; i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}}
		if owner != "" {
			p.Annotations = map[string]string{"owner": owner}
		}
		st := corev1.ConditionFalse
		if i < ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		out = append(out, p)
	}
	return out
}

// scales answers each owner's replicas; pods without an owner fail.
func scales(replicas map[string]int32) scaleFunc {
	return func(p *corev1.Pod) (string, int32, error) {
		o := p.Annotations["owner"]
		r, ok := replicas[o]
		if !ok {
			return "", 0, errNoController{p.Name}
		}
		return o, r, nil
	}
}

func TestStatus(t *testing.T) {
	i := func(n int) *intstr.IntOrString { v := intstr.FromInt32(int32(n)); return &v }
	s := func(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }
	for _, tc := range []struct {
		name                                string
		minAvailable, maxUnavailable        *intstr.IntOrString
		pods                                []*corev1.Pod
		scale                               map[string]int32
		disrupted                           map[string]metav1.Time
		expected, desired, healthy, allowed int32
		wantReason                          string
		wantErr                             bool
	}{
		{name: "minAvailable count", minAvailable: i(2), pods: pods(3, 3, "rs"), scale: map[string]int32{"rs": 3},
			expected: 3, desired: 2, healthy: 3, allowed: 1, wantReason: policyv1.SufficientPodsReason},
		{name: "minAvailable count with unready pods", minAvailable: i(2), pods: pods(3, 2, "rs"),
			expected: 3, desired: 2, healthy: 2, allowed: 0, wantReason: policyv1.InsufficientPodsReason},
		{name: "minAvailable count needs no controller", minAvailable: i(1), pods: pods(2, 2, ""),
			expected: 2, desired: 1, healthy: 2, allowed: 1, wantReason: policyv1.SufficientPodsReason},
		{name: "minAvailable percent rounds up against the controller's scale", minAvailable: s("50%"), pods: pods(3, 3, "rs"), scale: map[string]int32{"rs": 5},
			expected: 5, desired: 3, healthy: 3, allowed: 0, wantReason: policyv1.InsufficientPodsReason},
		{name: "maxUnavailable against two controllers", maxUnavailable: i(1), pods: append(pods(2, 2, "a"), pods(2, 2, "b")...), scale: map[string]int32{"a": 2, "b": 3},
			expected: 5, desired: 4, healthy: 4, allowed: 0, wantReason: policyv1.InsufficientPodsReason},
		{name: "maxUnavailable percent", maxUnavailable: s("50%"), pods: pods(4, 4, "rs"), scale: map[string]int32{"rs": 4},
			expected: 4, desired: 2, healthy: 4, allowed: 2, wantReason: policyv1.SufficientPodsReason},
		{name: "pods being evicted are not healthy", minAvailable: i(1), pods: pods(3, 3, "rs"),
			disrupted: map[string]metav1.Time{"p0": metav1.NewTime(now.Add(-time.Minute)), "p1": metav1.NewTime(now.Add(-3 * time.Minute))},
			// p1's entry expired (2 minutes): it counts again.
			expected: 3, desired: 1, healthy: 2, allowed: 1, wantReason: policyv1.SufficientPodsReason},
		{name: "no controller fails safe", maxUnavailable: i(1), pods: pods(2, 2, ""),
			allowed: 0, wantReason: policyv1.SyncFailedReason, wantErr: true},
		{name: "no pods allow nothing", minAvailable: i(0), expected: 0, allowed: 0, wantReason: policyv1.InsufficientPodsReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdb := &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Generation: 3},
				Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: tc.minAvailable, MaxUnavailable: tc.maxUnavailable},
				Status:     policyv1.PodDisruptionBudgetStatus{DisruptedPods: tc.disrupted, DisruptionsAllowed: 7},
			}
			st, recheck, err := newStatus(pdb, tc.pods, scales(tc.scale), now)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var nc errNoController
			if tc.wantErr && !errors.As(err, &nc) {
				t.Errorf("err = %v, want errNoController", err)
			}
			if st.DisruptionsAllowed != tc.allowed || st.ObservedGeneration != 3 {
				t.Errorf("allowed %d, observedGeneration %d; want %d, 3", st.DisruptionsAllowed, st.ObservedGeneration, tc.allowed)
			}
			if !tc.wantErr && (st.ExpectedPods != tc.expected || st.DesiredHealthy != tc.desired || st.CurrentHealthy != tc.healthy) {
				t.Errorf("expected/desired/healthy = %d/%d/%d, want %d/%d/%d", st.ExpectedPods, st.DesiredHealthy, st.CurrentHealthy, tc.expected, tc.desired, tc.healthy)
			}
			if len(st.Conditions) != 1 || st.Conditions[0].Reason != tc.wantReason || st.Conditions[0].Type != policyv1.DisruptionAllowedCondition {
				t.Errorf("conditions = %+v, want DisruptionAllowed %s", st.Conditions, tc.wantReason)
			}
			if tc.disrupted != nil {
				if _, ok := st.DisruptedPods["p0"]; !ok || len(st.DisruptedPods) != 1 {
					t.Errorf("disruptedPods = %v, want only p0", st.DisruptedPods)
				}
				if want := now.Add(time.Minute); !recheck.Equal(want) {
					t.Errorf("recheck at %v, want %v", recheck, want)
				}
			}
		})
	}
}
