package replicaset

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func TestExpectations(t *testing.T) {
	tests := []struct {
		name string
		run  func(e *expectations, clk *clocktesting.FakePassiveClock)
		want bool
	}{
		{name: "unknown key is satisfied", run: func(*expectations, *clocktesting.FakePassiveClock) {}, want: true},
		{name: "pending creations block", run: func(e *expectations, _ *clocktesting.FakePassiveClock) {
			e.expectCreations("k", 3)
			e.creationObserved("k")
			e.creationObserved("k")
		}, want: false},
		{name: "all creations observed", run: func(e *expectations, _ *clocktesting.FakePassiveClock) {
			e.expectCreations("k", 2)
			e.creationObserved("k")
			e.creationObserved("k")
		}, want: true},
		{name: "deletion of the same pod counts once", run: func(e *expectations, _ *clocktesting.FakePassiveClock) {
			e.expectDeletions("k", []string{"ns/a", "ns/b"})
			e.deletionObserved("k", "ns/a")
			e.deletionObserved("k", "ns/a")
		}, want: false},
		{name: "unexpected deletion does not count", run: func(e *expectations, _ *clocktesting.FakePassiveClock) {
			e.expectDeletions("k", []string{"ns/a"})
			e.deletionObserved("k", "ns/other")
		}, want: false},
		{name: "all deletions observed", run: func(e *expectations, _ *clocktesting.FakePassiveClock) {
			e.expectDeletions("k", []string{"ns/a", "ns/b"})
			e.deletionObserved("k", "ns/b")
			e.deletionObserved("k", "ns/a")
		}, want: true},
		{name: "expired expectations are satisfied", run: func(e *expectations, clk *clocktesting.FakePassiveClock) {
			e.expectCreations("k", 5)
			clk.SetTime(clk.Now().Add(ExpectationsTimeout + time.Second))
		}, want: true},
		{name: "forget clears", run: func(e *expectations, _ *clocktesting.FakePassiveClock) {
			e.expectCreations("k", 5)
			e.forget("k")
		}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Now())
			e := newExpectations(clk)
			tc.run(e, clk)
			if got := e.satisfied("k"); got != tc.want {
				t.Errorf("satisfied = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSlowStartBatch(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		count     int
		failAfter int64 // calls that succeed before every call fails; -1 never
		wantOK    int
		wantCalls int64
	}{
		{name: "all succeed", count: 10, failAfter: -1, wantOK: 10, wantCalls: 10},
		{name: "first fails", count: 10, failAfter: 0, wantOK: 0, wantCalls: 1},
		{name: "fails in third batch", count: 100, failAfter: 3, wantOK: 3, wantCalls: 7},
		{name: "zero", count: 0, failAfter: -1, wantOK: 0, wantCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			ok, err := slowStartBatch(tc.count, 1, func() error {
				if n := calls.Add(1); tc.failAfter >= 0 && n > tc.failAfter {
					return boom
				}
				return nil
			})
			if ok != tc.wantOK || calls.Load() != tc.wantCalls {
				t.Errorf("successes %d calls %d, want %d and %d", ok, calls.Load(), tc.wantOK, tc.wantCalls)
			}
			if (tc.failAfter >= 0) != errors.Is(err, boom) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestCalculateStatus(t *testing.T) {
	now := rankNow
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Generation: 3},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](4), MinReadySeconds: 30,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x", "tier": "web"}}}},
	}
	full := func(p *corev1.Pod) { p.Labels = map[string]string{"app": "x", "tier": "web", "extra": "1"} }
	pods := []*corev1.Pod{
		testPod("a", full, readySince(time.Minute)),    // ready, available
		testPod("b", full, readySince(10*time.Second)), // ready, not yet available
		testPod("c", func(p *corev1.Pod) { p.Labels = map[string]string{"app": "x"} }),
	}
	tests := []struct {
		name      string
		existing  []appsv1.ReplicaSetCondition
		err       error
		wantCond  string
		wantTerm  *int32
		wantConds int
	}{
		{name: "counts", wantTerm: ptr.To[int32](2)},
		{name: "create error sets ReplicaFailure", err: errors.New("quota"), wantCond: "FailedCreate", wantConds: 1},
		{name: "success clears ReplicaFailure", existing: []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := rs.DeepCopy()
			in.Status.Conditions = tc.existing
			st := calculateStatus(in, pods, tc.wantTerm, tc.err, now)
			if st.Replicas != 3 || st.FullyLabeledReplicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 1 {
				t.Errorf("status %+v", st)
			}
			if !ptr.Equal(st.TerminatingReplicas, tc.wantTerm) {
				t.Errorf("terminating %v", st.TerminatingReplicas)
			}
			if len(st.Conditions) != tc.wantConds {
				t.Fatalf("conditions %+v", st.Conditions)
			}
			if tc.wantCond != "" && (st.Conditions[0].Reason != tc.wantCond || st.Conditions[0].Message != tc.err.Error()) {
				t.Errorf("condition %+v", st.Conditions[0])
			}
			if len(in.Status.Conditions) != len(tc.existing) {
				t.Errorf("input conditions modified")
			}
		})
	}
}
