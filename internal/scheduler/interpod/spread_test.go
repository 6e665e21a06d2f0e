package interpod

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type constraintOpt func(*corev1.TopologySpreadConstraint)

func minDomains(n int32) constraintOpt {
	return func(c *corev1.TopologySpreadConstraint) { c.MinDomains = &n }
}

func affinityPolicy(p corev1.NodeInclusionPolicy) constraintOpt {
	return func(c *corev1.TopologySpreadConstraint) { c.NodeAffinityPolicy = &p }
}

func taintsPolicy(p corev1.NodeInclusionPolicy) constraintOpt {
	return func(c *corev1.TopologySpreadConstraint) { c.NodeTaintsPolicy = &p }
}

func matchLabelKeys(keys ...string) constraintOpt {
	return func(c *corev1.TopologySpreadConstraint) { c.MatchLabelKeys = keys }
}

func withSpread(p *corev1.Pod, key string, maxSkew int32, when corev1.UnsatisfiableConstraintAction, ls *metav1.LabelSelector, opts ...constraintOpt) *corev1.Pod {
	c := corev1.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when, LabelSelector: ls}
	for _, o := range opts {
		o(&c)
	}
	p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints, c)
	return p
}

func web(name string) *corev1.Pod { return mkPod("default", name, "app", "web") }

func TestSpreadFilter(t *testing.T) {
	terminating := web("gone")
	now := metav1.NewTime(time.Unix(0, 0))
	terminating.DeletionTimestamp = &now
	tests := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*testNode
		want  map[string]string
	}{
		{
			name: "maxSkew 1 on zone allows only the emptier zone",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1"), web("w2")),
				mkNode("b1", "b").with(web("w3")),
			},
			want: map[string]string{"a1": ReasonSpreadConstraintsNotMatch, "b1": ""},
		},
		{
			name: "node without the topology key fails with the missing label reason",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a"),
				mkNode("x", ""),
			},
			want: map[string]string{"a1": "", "x": ReasonSpreadMissingLabel},
		},
		{
			name: "pods in other namespaces, terminating pods and non-matching pods are not counted",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(mkPod("other", "o", "app", "web"), terminating, mkPod("default", "db", "app", "db")),
				mkNode("b1", "b").with(web("w")),
			},
			want: map[string]string{"a1": "", "b1": ReasonSpreadConstraintsNotMatch},
		},
		{
			name: "a pod not matching its own selector does not count itself",
			pod:  withSpread(mkPod("default", "p", "app", "db"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("b1", "b"),
			},
			want: map[string]string{"a1": "", "b1": ""},
		},
		{
			name: "hostname spread",
			pod:  withSpread(web("p"), hostKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("n1", "a").with(web("w1")),
				mkNode("n2", "a").with(web("w2")),
				mkNode("n3", "a"),
			},
			want: map[string]string{"n1": ReasonSpreadConstraintsNotMatch, "n2": ReasonSpreadConstraintsNotMatch, "n3": ""},
		},
		{
			name: "without minDomains the global minimum is the least loaded domain",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("b1", "b").with(web("w2")),
			},
			want: map[string]string{"a1": "", "b1": ""},
		},
		{
			name: "fewer domains than minDomains makes the global minimum 0",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"), minDomains(3)),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("b1", "b").with(web("w2")),
			},
			want: map[string]string{"a1": ReasonSpreadConstraintsNotMatch, "b1": ReasonSpreadConstraintsNotMatch},
		},
		{
			name: "minDomains satisfied keeps the real minimum",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"), minDomains(2)),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("b1", "b").with(web("w2")),
			},
			want: map[string]string{"a1": "", "b1": ""},
		},
		{
			name: "nodeAffinityPolicy Honor (default) excludes domains the pod cannot use",
			pod: func() *corev1.Pod {
				p := withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"))
				p.Spec.NodeSelector = map[string]string{"pool": "x"}
				return p
			}(),
			nodes: []*testNode{
				mkNode("a1", "a", "pool", "x").with(web("w1")),
				mkNode("b1", "b", "pool", "x").with(web("w2")),
				mkNode("c1", "c", "pool", "y"),
			},
			want: map[string]string{"a1": "", "b1": "", "c1": ""},
		},
		{
			name: "nodeAffinityPolicy Ignore counts every domain",
			pod: func() *corev1.Pod {
				p := withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"), affinityPolicy(corev1.NodeInclusionPolicyIgnore))
				p.Spec.NodeSelector = map[string]string{"pool": "x"}
				return p
			}(),
			nodes: []*testNode{
				mkNode("a1", "a", "pool", "x").with(web("w1")),
				mkNode("b1", "b", "pool", "x").with(web("w2")),
				mkNode("c1", "c", "pool", "y"),
			},
			want: map[string]string{"a1": ReasonSpreadConstraintsNotMatch, "b1": ReasonSpreadConstraintsNotMatch, "c1": ""},
		},
		{
			name: "nodeTaintsPolicy Ignore (default) counts tainted domains",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("c1", "c").taint("dedicated", corev1.TaintEffectNoSchedule),
			},
			want: map[string]string{"a1": ReasonSpreadConstraintsNotMatch, "c1": ""},
		},
		{
			name: "nodeTaintsPolicy Honor excludes domains with untolerated taints",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"), taintsPolicy(corev1.NodeInclusionPolicyHonor)),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("c1", "c").taint("dedicated", corev1.TaintEffectNoSchedule),
				mkNode("d1", "d").taint("soft", corev1.TaintEffectPreferNoSchedule),
				mkNode("d2", "d").with(web("w2")),
			},
			want: map[string]string{"a1": "", "c1": "", "d1": "", "d2": ""},
		},
		{
			name: "nodeTaintsPolicy Honor keeps tolerated taints",
			pod: func() *corev1.Pod {
				p := withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"), taintsPolicy(corev1.NodeInclusionPolicyHonor))
				p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
				return p
			}(),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("c1", "c").taint("dedicated", corev1.TaintEffectNoSchedule),
			},
			want: map[string]string{"a1": ReasonSpreadConstraintsNotMatch, "c1": ""},
		},
		{
			name: "matchLabelKeys count only pods with the pod's own value",
			pod:  withSpread(mkPod("default", "p", "app", "web", "hash", "v2"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"), matchLabelKeys("hash")),
			nodes: []*testNode{
				mkNode("a1", "a").with(mkPod("default", "old1", "app", "web", "hash", "v1"), mkPod("default", "old2", "app", "web", "hash", "v1")),
				mkNode("b1", "b").with(mkPod("default", "new", "app", "web", "hash", "v2")),
			},
			want: map[string]string{"a1": "", "b1": ReasonSpreadConstraintsNotMatch},
		},
		{
			name: "nodes missing any constraint's key are not domains",
			pod: withSpread(withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")),
				"rack", 5, corev1.DoNotSchedule, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a", "rack", "r1").with(web("w1")),
				mkNode("b1", "b"),
			},
			want: map[string]string{"a1": "", "b1": ReasonSpreadMissingLabel},
		},
		{
			name: "ScheduleAnyway constraints never filter",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.ScheduleAnyway, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1"), web("w2")),
				mkNode("b1", "b"),
				mkNode("x", ""),
			},
			want: map[string]string{"a1": "", "b1": "", "x": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// par 0 uses an Index instead of scanning.
			for _, par := range []int{0, 1, 4} {
				all := nodes(tc.nodes...)
				opts := Options{Parallelism: par}
				if par == 0 {
					opts.Index = NewIndex()
				}
				s, err := PreFilterSpreadWith(tc.pod, all, opts)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]string{}
				for _, n := range all {
					ok, reason := s.Filter(tc.pod, n)
					if ok != (reason == "") {
						t.Fatalf("node %s: ok=%v with reason %q", n.Node().Name, ok, reason)
					}
					got[n.Node().Name] = reason
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("parallelism %d: got %v, want %v", par, got, tc.want)
				}
			}
		})
	}
}

func owned(p *corev1.Pod, kind string) *corev1.Pod {
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: "owner", Controller: &yes}}
	return p
}

func TestSpreadScore(t *testing.T) {
	tests := []struct {
		name       string
		pod        *corev1.Pod
		nodes      []*testNode
		raw, final []int64
	}{
		{
			// 3 zones: weight log(5); counts a=2, b=1, c=0.
			name: "zone ScheduleAnyway prefers the emptiest zone",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.ScheduleAnyway, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("a2", "a").with(web("w2")),
				mkNode("b1", "b").with(web("w3")),
				mkNode("c1", "c"),
				mkNode("x", ""),
			},
			raw:   []int64{3, 3, 2, 0, IgnoredScore},
			final: []int64{0, 0, 33, 100, 0},
		},
		{
			// 3 nodes: weight log(5) per pod on the node, plus maxSkew-1 = 1.
			name: "hostname ScheduleAnyway counts the node's own pods",
			pod:  withSpread(web("p"), hostKey, 2, corev1.ScheduleAnyway, sel("app", "web")),
			nodes: []*testNode{
				mkNode("n1", "a").with(web("w1"), web("w2")),
				mkNode("n2", "a").with(web("w3")),
				mkNode("n3", "a"),
			},
			raw:   []int64{4, 3, 1},
			final: []int64{25, 50, 100},
		},
		{
			name: "system defaults apply to controlled pods",
			pod:  owned(web("p"), "ReplicaSet"),
			nodes: []*testNode{
				mkNode("a1", "a").with(web("w1")),
				mkNode("b1", "b"),
			},
			// zone: 1*log(4)+4, hostname: 1*log(4)+2 -> 8.77 ~ 9; b1: 6.
			raw:   []int64{9, 6},
			final: []int64{66, 100},
		},
		{
			name:  "no constraints and no controller: nothing scored",
			pod:   web("p"),
			nodes: []*testNode{mkNode("a1", "a").with(web("w1")), mkNode("b1", "b")},
			raw:   []int64{IgnoredScore, IgnoredScore},
			final: []int64{0, 0},
		},
		{
			name:  "DaemonSet pods get no defaults",
			pod:   owned(web("p"), "DaemonSet"),
			nodes: []*testNode{mkNode("a1", "a")},
			raw:   []int64{IgnoredScore},
			final: []int64{0},
		},
		{
			name: "all zero counts score max everywhere",
			pod:  withSpread(web("p"), zoneKey, 1, corev1.ScheduleAnyway, sel("app", "web")),
			nodes: []*testNode{
				mkNode("a1", "a"),
				mkNode("b1", "b"),
			},
			raw:   []int64{0, 0},
			final: []int64{100, 100},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := nodes(tc.nodes...)
			for _, idx := range []*Index{nil, NewIndex()} {
				s, err := PreFilterSpreadWith(tc.pod, all, Options{Index: idx})
				if err != nil {
					t.Fatal(err)
				}
				s.PreScore(all)
				scores := make([]int64, len(all))
				for i, n := range all {
					scores[i] = s.Score(tc.pod, n)
				}
				if !reflect.DeepEqual(scores, tc.raw) {
					t.Fatalf("raw scores %v, want %v", scores, tc.raw)
				}
				NormalizeSpreadScores(scores)
				if !reflect.DeepEqual(scores, tc.final) {
					t.Fatalf("normalized scores %v, want %v", scores, tc.final)
				}
			}
		})
	}
}

func TestSpreadPreScoreUsesFilteredDomains(t *testing.T) {
	pod := withSpread(web("p"), zoneKey, 1, corev1.ScheduleAnyway, sel("app", "web"))
	all := nodes(
		mkNode("a1", "a").with(web("w1"), web("w2"), web("w3")),
		mkNode("b1", "b"), mkNode("c1", "c"), mkNode("d1", "d"), mkNode("e1", "e"), mkNode("f1", "f"),
	)
	s, err := PreFilterSpread(pod, all)
	if err != nil {
		t.Fatal(err)
	}
	// Six domains: 3*log(8) = 6.24 -> 6.
	if got := s.Score(pod, all[0]); got != 6 {
		t.Fatalf("score over all domains = %d, want 6", got)
	}
	// Only a1 and b1 feasible: 3*log(4) = 4.16 -> 4.
	s.PreScore(all[:2])
	if got := s.Score(pod, all[0]); got != 4 {
		t.Fatalf("score over filtered domains = %d, want 4", got)
	}
}

func TestSpreadAddRemovePod(t *testing.T) {
	pod := withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"))
	victim := web("w2")
	a1 := mkNode("a1", "a").with(web("w1"), victim)
	b1 := mkNode("b1", "b")
	s, err := PreFilterSpread(pod, nodes(a1, b1))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Filter(pod, a1); ok {
		t.Fatal("a1 should not fit before preemption")
	}
	c := s.Clone()
	c.RemovePod(victim, a1)
	c.RemovePod(a1.pods[0], a1)
	if ok, reason := c.Filter(pod, a1); !ok {
		t.Fatalf("a1 after removing both pods: %s", reason)
	}
	if ok, _ := s.Filter(pod, a1); ok {
		t.Fatal("clone changes leaked into the original state")
	}
	c.AddPod(web("w9"), b1)
	c.AddPod(web("w10"), b1)
	if ok, reason := c.Filter(pod, b1); ok || reason != ReasonSpreadConstraintsNotMatch {
		t.Fatalf("b1 after adding two pods: ok=%v reason %q", ok, reason)
	}
	c.AddPod(mkPod("other", "o", "app", "web"), a1)
	if ok, reason := c.Filter(pod, a1); !ok {
		t.Fatalf("a pod in another namespace changed counts: %s", reason)
	}
}
