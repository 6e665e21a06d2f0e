package deployment

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestResolveFenceposts(t *testing.T) {
	cases := []struct {
		name                  string
		surge, unavailable    intstr.IntOrString
		desired               int32
		wantSurge, wantUnavai int32
	}{
		{"defaults-of-10", intstr.FromString("25%"), intstr.FromString("25%"), 10, 3, 2},
		{"defaults-of-1", intstr.FromString("25%"), intstr.FromString("25%"), 1, 1, 0},
		{"defaults-of-4", intstr.FromString("25%"), intstr.FromString("25%"), 4, 1, 1},
		{"both-round-to-zero", intstr.FromString("0%"), intstr.FromString("10%"), 5, 0, 1},
		{"absolute", intstr.FromInt32(3), intstr.FromInt32(2), 10, 3, 2},
		{"percent-of-1000", intstr.FromString("1%"), intstr.FromString("0%"), 1000, 10, 0},
		{"percent-up-of-7", intstr.FromString("30%"), intstr.FromString("30%"), 7, 3, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, u, err := resolveFenceposts(&tc.surge, &tc.unavailable, tc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if s != tc.wantSurge || u != tc.wantUnavai {
				t.Errorf("got surge %d unavailable %d, want %d %d", s, u, tc.wantSurge, tc.wantUnavai)
			}
		})
	}
}

func TestMaxUnavailableCappedAndRecreate(t *testing.T) {
	d := dep(2, intstr.FromInt32(1), intstr.FromInt32(5))
	if got := maxUnavailable(d); got != 2 {
		t.Errorf("maxUnavailable = %d, want capped at replicas 2", got)
	}
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if maxUnavailable(d) != 0 || maxSurge(d) != 0 {
		t.Errorf("recreate: maxUnavailable %d maxSurge %d, want 0 0", maxUnavailable(d), maxSurge(d))
	}
}

func dep(n int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(n), Strategy: appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}}}
}

func rs(name string, spec, available int32, ann map[string]string) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(spec)}, Status: appsv1.ReplicaSetStatus{AvailableReplicas: available}}
}

func TestNewRSNewReplicas(t *testing.T) {
	cases := []struct {
		name     string
		old, new int32
		want     int32
	}{
		{"fresh-rollout", 10, 0, 3},
		{"at-max", 10, 3, 3},
		{"room-after-scale-down", 8, 3, 5},
		{"capped-at-desired", 0, 8, 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(10, intstr.FromInt32(3), intstr.FromInt32(2))
			n := rs("new", tc.new, 0, nil)
			got, err := newRSNewReplicas(d, []*appsv1.ReplicaSet{rs("old", tc.old, tc.old, nil), n}, n)
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestReplicaSetProportion(t *testing.T) {
	ann := map[string]string{MaxReplicasAnnotation: "13", DesiredReplicasAnnotation: "10"}
	cases := []struct {
		name         string
		replicas     int32
		size         int32
		toAdd, added int32
		want         int32
	}{
		{"scale-up-largest", 20, 8, 10, 0, 6},
		{"scale-up-capped-by-remaining", 20, 5, 10, 6, 4},
		{"scale-down", 5, 8, -5, 0, -3}, // round(8*8/13) - 8
		{"to-zero", 0, 8, -13, 0, -8},
		{"nothing-left", 20, 5, 10, 10, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dep(tc.replicas, intstr.FromInt32(3), intstr.FromInt32(2))
			if got := replicaSetProportion(rs("x", tc.size, 0, ann), d, tc.toAdd, tc.added); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := dep(3, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "v2", RevisionAnnotation: "9", lastAppliedAnnotation: "{}"}
	cases := []struct {
		name        string
		have        map[string]string
		newRevision string
		exists      bool
		want        map[string]string
	}{
		{"new", nil, "1", false, map[string]string{RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4", "kubernetes.io/change-cause": "v2"}},
		{"rollback-records-history", map[string]string{RevisionAnnotation: "2"}, "5", true,
			map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "2", "kubernetes.io/change-cause": "v2"}},
		{"history-appends", map[string]string{RevisionAnnotation: "5", RevisionHistoryAnnotation: "2"}, "7", true,
			map[string]string{RevisionAnnotation: "7", RevisionHistoryAnnotation: "2,5", "kubernetes.io/change-cause": "v2"}},
		{"never-lowers", map[string]string{RevisionAnnotation: "8"}, "3", true, map[string]string{RevisionAnnotation: "8", "kubernetes.io/change-cause": "v2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rs("x", 0, 0, tc.have)
			setNewReplicaSetAnnotations(d, r, tc.newRevision, tc.exists)
			if len(r.Annotations) != len(tc.want) {
				t.Errorf("annotations %v, want %v", r.Annotations, tc.want)
			}
			for k, v := range tc.want {
				if r.Annotations[k] != v {
					t.Errorf("%s = %q, want %q", k, r.Annotations[k], v)
				}
			}
		})
	}
}

func TestLastRevision(t *testing.T) {
	rss := []*appsv1.ReplicaSet{rs("a", 0, 0, map[string]string{RevisionAnnotation: "3"}), nil,
		rs("b", 0, 0, map[string]string{RevisionAnnotation: "7"}), rs("c", 0, 0, map[string]string{RevisionAnnotation: "5"})}
	if got := lastRevision(rss); got != 5 {
		t.Errorf("lastRevision = %d, want 5", got)
	}
	if got := maxRevision(rss); got != 7 {
		t.Errorf("maxRevision = %d, want 7", got)
	}
}

func TestComputeHash(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}}}
	h := ComputeHash(tmpl, nil)
	if h != ComputeHash(tmpl.DeepCopy(), nil) {
		t.Error("hash is not deterministic")
	}
	if h == ComputeHash(tmpl, ptr.To(int32(1))) {
		t.Error("collisionCount does not change the hash")
	}
	other := tmpl.DeepCopy()
	other.Spec.Containers[0].Image = "nginx:2"
	if h == ComputeHash(other, nil) {
		t.Error("template change does not change the hash")
	}
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	if h == "" || strings.Trim(h, alphabet) != "" {
		t.Errorf("hash %q is not SafeEncodeString output", h)
	}
}

func TestDeploymentTimedOut(t *testing.T) {
	now := time.Now()
	d := dep(1, intstr.FromInt32(1), intstr.FromInt32(0))
	d.Spec.ProgressDeadlineSeconds = ptr.To(int32(10))
	cases := []struct {
		name   string
		reason string
		age    time.Duration
		want   bool
	}{
		{"fresh", reasonReplicaSetUpdated, 5 * time.Second, false},
		{"stale", reasonReplicaSetUpdated, 11 * time.Second, true},
		{"complete-never-times-out", reasonNewRSAvailable, time.Hour, false},
		{"already-timed-out", reasonTimedOut, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := appsv1.DeploymentStatus{}
			setCondition(&st, newCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, tc.reason, "", now.Add(-tc.age)))
			if got := deploymentTimedOut(d, &st, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
