package replicaset

import (
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var rankNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// podOpt shapes a test pod.
type podOpt func(*corev1.Pod)

func testPod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(rankNow.Add(-time.Hour))},
		Spec:   corev1.PodSpec{NodeName: "node-1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func unscheduled(p *corev1.Pod)       { p.Spec.NodeName = "" }
func onNode(n string) podOpt          { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func created(ago time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(rankNow.Add(-ago)) }
}
func readySince(ago time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(rankNow.Add(-ago))})
	}
}
func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "c", RestartCount: n})
	}
}
func cost(v string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.PodDeletionCost: v} }
}

func TestRankedPodsLess(t *testing.T) {
	tests := []struct {
		name         string
		first, other *corev1.Pod
		rankFirst    int
		rankOther    int
	}{
		{name: "unscheduled before scheduled", first: testPod("a", unscheduled, readySince(time.Hour)), other: testPod("b", phase(corev1.PodPending))},
		{name: "pending before unknown", first: testPod("a", phase(corev1.PodPending)), other: testPod("b", phase(corev1.PodUnknown))},
		{name: "unknown before running", first: testPod("a", phase(corev1.PodUnknown)), other: testPod("b")},
		{name: "not ready before ready", first: testPod("a", restarts(0)), other: testPod("b", readySince(time.Minute), restarts(9))},
		{name: "lower deletion cost first", first: testPod("a", cost("-5"), readySince(time.Hour)), other: testPod("b", readySince(time.Second))},
		{name: "invalid deletion cost counts as zero", first: testPod("a", cost("+7"), restarts(3)), other: testPod("b", cost("1"))},
		{name: "doubled up first", first: testPod("a", readySince(time.Hour)), other: testPod("b", onNode("node-2"), readySince(time.Second)), rankFirst: 3, rankOther: 1},
		{name: "ready more recently first", first: testPod("a", readySince(time.Minute)), other: testPod("b", readySince(10*time.Hour))},
		{name: "more restarts first", first: testPod("a", restarts(5)), other: testPod("b", restarts(1), created(time.Second))},
		{name: "newer first", first: testPod("a", created(time.Minute)), other: testPod("b", created(10*time.Hour))},
		{name: "zero creation time first", first: testPod("a", func(p *corev1.Pod) { p.CreationTimestamp = metav1.Time{} }), other: testPod("b", created(time.Second))},
		{name: "same age bucket breaks tie by uid", first: testPod("a", created(64*time.Second)), other: testPod("b", created(65*time.Second))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := rankedPods{pods: []*corev1.Pod{tc.first, tc.other}, rank: []int{tc.rankFirst, tc.rankOther}, now: rankNow}
			if !s.Less(0, 1) {
				t.Errorf("%s should rank before %s", tc.first.Name, tc.other.Name)
			}
			if s.Less(1, 0) {
				t.Errorf("%s should not rank before %s", tc.other.Name, tc.first.Name)
			}
		})
	}
}

func TestPodsToDelete(t *testing.T) {
	pods := []*corev1.Pod{
		testPod("running-ready-old", readySince(5*time.Hour), created(6*time.Hour)),
		testPod("running-notready"),
		testPod("pending", phase(corev1.PodPending)),
		testPod("unscheduled", unscheduled, phase(corev1.PodPending)),
		testPod("running-ready-new", readySince(time.Minute), created(2*time.Minute)),
	}
	tests := []struct {
		name string
		diff int
		want []string
	}{
		{name: "one", diff: 1, want: []string{"unscheduled"}},
		{name: "three", diff: 3, want: []string{"unscheduled", "pending", "running-notready"}},
		{name: "four", diff: 4, want: []string{"unscheduled", "pending", "running-notready", "running-ready-new"}},
		{name: "all", diff: 5, want: []string{"running-ready-old", "running-notready", "pending", "unscheduled", "running-ready-new"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := podsToDelete(pods, pods, tc.diff, rankNow)
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if len(names) != len(tc.want) {
				t.Fatalf("got %v, want %v", names, tc.want)
			}
			for i := range names {
				if names[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", names, tc.want)
				}
			}
		})
	}
	// The input is not reordered.
	if pods[0].Name != "running-ready-old" || pods[4].Name != "running-ready-new" {
		t.Errorf("podsToDelete reordered its input")
	}
}

func TestRankedPodsSortIsTotal(t *testing.T) {
	// Sorting a shuffled set twice gives the same order (Less is a
	// strict weak order over distinct pods).
	mk := func() []*corev1.Pod {
		return []*corev1.Pod{
			testPod("e", readySince(time.Hour)), testPod("a", unscheduled), testPod("c", phase(corev1.PodUnknown)),
			testPod("d", restarts(2)), testPod("b", phase(corev1.PodPending)), testPod("f", readySince(time.Second)),
		}
	}
	order := func(ps []*corev1.Pod) string {
		sort.Sort(rankedPods{pods: ps, rank: make([]int, len(ps)), now: rankNow})
		s := ""
		for _, p := range ps {
			s += p.Name
		}
		return s
	}
	ps := mk()
	got := order(ps)
	rev := mk()
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	if again := order(rev); again != got || got != "abcdfe" {
		t.Errorf("orders %q and %q, want abcdfe", got, again)
	}
}
