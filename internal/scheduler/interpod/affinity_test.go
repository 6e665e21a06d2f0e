package interpod

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	zoneKey = corev1.LabelTopologyZone
	hostKey = corev1.LabelHostname
)

func TestAffinityFilter(t *testing.T) {
	nsLabels := func(ns string) (map[string]string, bool) {
		switch ns {
		case "team-a":
			return map[string]string{"team": "a"}, true
		case "team-b":
			return map[string]string{"team": "b"}, true
		case "default":
			return map[string]string{"kubernetes.io/metadata.name": "default"}, true
		}
		return nil, false
	}
	tests := []struct {
		name  string
		pod   *corev1.Pod
		nodes []*testNode
		// want maps node name to "" (fits) or the expected reason.
		want map[string]string
	}{
		{
			name: "no terms fits everywhere",
			pod:  mkPod("default", "p", "app", "web"),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "db", "app", "db")),
			},
			want: map[string]string{"n1": ""},
		},
		{
			name: "affinity to existing pod in the same zone",
			pod:  withAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "db"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "db", "app", "db")),
				mkNode("n2", "a"),
				mkNode("n3", "b"),
				mkNode("n4", ""),
			},
			want: map[string]string{
				"n1": "", "n2": "",
				"n3": ReasonAffinityRulesNotMatch,
				"n4": ReasonAffinityRulesNotMatch,
			},
		},
		{
			name: "affinity requires all terms matched by the same pod",
			pod: withAffinity(mkPod("default", "p", "app", "web"),
				term(zoneKey, sel("app", "db")), term(hostKey, sel("tier", "cache"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "db", "app", "db")),
				mkNode("n2", "a").with(mkPod("default", "c", "tier", "cache")),
			},
			want: map[string]string{"n1": ReasonAffinityRulesNotMatch, "n2": ReasonAffinityRulesNotMatch},
		},
		{
			name: "affinity with no matching pod and not matching itself fails",
			pod:  withAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "db"))),
			nodes: []*testNode{
				mkNode("n1", "a"),
			},
			want: map[string]string{"n1": ReasonAffinityRulesNotMatch},
		},
		{
			name: "first pod of a group with affinity to itself may schedule where topology exists",
			pod:  withAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "web"))),
			nodes: []*testNode{
				mkNode("n1", "a"),
				mkNode("n2", "b"),
				mkNode("n3", ""),
			},
			want: map[string]string{"n1": "", "n2": "", "n3": ReasonAffinityRulesNotMatch},
		},
		{
			name: "self-affinity once a group member exists follows it",
			pod:  withAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "web"))),
			nodes: []*testNode{
				mkNode("n1", "a"),
				mkNode("n2", "b").with(mkPod("default", "w1", "app", "web")),
			},
			want: map[string]string{"n1": ReasonAffinityRulesNotMatch, "n2": ""},
		},
		{
			name: "affinity term namespaces default to the pod's own",
			pod:  withAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "db"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("other", "db", "app", "db")),
			},
			want: map[string]string{"n1": ReasonAffinityRulesNotMatch},
		},
		{
			name: "affinity term with explicit namespaces",
			pod: withAffinity(mkPod("default", "p", "app", "web"), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: zoneKey, Namespaces: []string{"other"},
			}),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("other", "db", "app", "db")),
				mkNode("n2", "b").with(mkPod("default", "db", "app", "db")),
			},
			want: map[string]string{"n1": "", "n2": ReasonAffinityRulesNotMatch},
		},
		{
			name: "affinity term with namespaceSelector",
			pod: withAffinity(mkPod("default", "p", "app", "web"), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: zoneKey, NamespaceSelector: sel("team", "a"),
			}),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("team-a", "db", "app", "db")),
				mkNode("n2", "b").with(mkPod("team-b", "db", "app", "db")),
				mkNode("n3", "c").with(mkPod("default", "db", "app", "db")),
			},
			want: map[string]string{"n1": "", "n2": ReasonAffinityRulesNotMatch, "n3": ReasonAffinityRulesNotMatch},
		},
		{
			name: "empty namespaceSelector selects all namespaces",
			pod: withAffinity(mkPod("default", "p", "app", "web"), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "db"), TopologyKey: zoneKey, NamespaceSelector: &metav1.LabelSelector{},
			}),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("team-b", "db", "app", "db")),
				mkNode("n2", "b"),
			},
			want: map[string]string{"n1": "", "n2": ReasonAffinityRulesNotMatch},
		},
		{
			name: "anti-affinity on hostname against existing pods",
			pod:  withAntiAffinity(mkPod("default", "p", "app", "web"), term(hostKey, sel("app", "web"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "w1", "app", "web")),
				mkNode("n2", "a"),
				mkNode("n3", "a").with(mkPod("other", "w1", "app", "web")),
			},
			want: map[string]string{"n1": ReasonAntiAffinityRulesNotMatch, "n2": "", "n3": ""},
		},
		{
			name: "anti-affinity on zone blocks the whole zone",
			pod:  withAntiAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "db"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "db", "app", "db")),
				mkNode("n2", "a"),
				mkNode("n3", "b"),
				mkNode("n4", ""),
			},
			want: map[string]string{"n1": ReasonAntiAffinityRulesNotMatch, "n2": ReasonAntiAffinityRulesNotMatch, "n3": "", "n4": ""},
		},
		{
			name: "existing pods' anti-affinity is symmetric",
			pod:  mkPod("default", "p", "app", "web"),
			nodes: []*testNode{
				mkNode("n1", "a").with(withAntiAffinity(mkPod("default", "db", "app", "db"), term(zoneKey, sel("app", "web")))),
				mkNode("n2", "a"),
				mkNode("n3", "b"),
			},
			want: map[string]string{"n1": ReasonExistingAntiAffinityRulesNotMatch, "n2": ReasonExistingAntiAffinityRulesNotMatch, "n3": ""},
		},
		{
			name: "existing pods' anti-affinity applies only to their own namespace by default",
			pod:  mkPod("team-a", "p", "app", "web"),
			nodes: []*testNode{
				mkNode("n1", "a").with(withAntiAffinity(mkPod("default", "db", "app", "db"), term(zoneKey, sel("app", "web")))),
			},
			want: map[string]string{"n1": ""},
		},
		{
			name: "existing pods' anti-affinity namespaceSelector matches the incoming pod's namespace labels",
			pod:  mkPod("team-a", "p", "app", "web"),
			nodes: []*testNode{
				mkNode("n1", "a").with(withAntiAffinity(mkPod("default", "db", "app", "db"), corev1.PodAffinityTerm{
					LabelSelector: sel("app", "web"), TopologyKey: hostKey, NamespaceSelector: sel("team", "a"),
				})),
				mkNode("n2", "a").with(withAntiAffinity(mkPod("default", "db2", "app", "db"), corev1.PodAffinityTerm{
					LabelSelector: sel("app", "web"), TopologyKey: hostKey, NamespaceSelector: sel("team", "b"),
				})),
			},
			want: map[string]string{"n1": ReasonExistingAntiAffinityRulesNotMatch, "n2": ""},
		},
		{
			name: "affinity is reported before anti-affinity",
			pod: withAntiAffinity(withAffinity(mkPod("default", "p", "app", "web"), term(zoneKey, sel("app", "db"))),
				term(hostKey, sel("app", "web"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "db", "app", "db"), mkPod("default", "w", "app", "web")),
				mkNode("n2", "b").with(mkPod("default", "w2", "app", "web")),
				mkNode("n3", "a"),
			},
			want: map[string]string{"n1": ReasonAntiAffinityRulesNotMatch, "n2": ReasonAffinityRulesNotMatch, "n3": ""},
		},
		{
			name: "matchLabelKeys narrow the term to the pod's own value",
			pod: withAntiAffinity(mkPod("default", "p", "app", "web", "rev", "2"), corev1.PodAffinityTerm{
				LabelSelector: sel("app", "web"), TopologyKey: hostKey, MatchLabelKeys: []string{"rev"},
			}),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "old", "app", "web", "rev", "1")),
				mkNode("n2", "a").with(mkPod("default", "new", "app", "web", "rev", "2")),
			},
			want: map[string]string{"n1": "", "n2": ReasonAntiAffinityRulesNotMatch},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// par 0 uses an Index instead of scanning.
			for _, par := range []int{0, 1, 4} {
				all := nodes(tc.nodes...)
				opts := Options{NamespaceLabels: nsLabels, Parallelism: par}
				if par == 0 {
					opts.Index = NewIndex()
				}
				s, err := PreFilterAffinityWith(tc.pod, all, opts)
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

func TestAffinityScore(t *testing.T) {
	tests := []struct {
		name       string
		pod        *corev1.Pod
		nodes      []*testNode
		raw, final []int64
	}{
		{
			name: "preferred affinity and anti-affinity weights by zone",
			pod: withPreferred(withPreferred(mkPod("default", "p", "app", "web"), false, 10, term(zoneKey, sel("app", "db"))),
				true, 4, term(hostKey, sel("app", "web"))),
			nodes: []*testNode{
				mkNode("n1", "a").with(mkPod("default", "db", "app", "db"), mkPod("default", "w", "app", "web")),
				mkNode("n2", "a"),
				mkNode("n3", "b"),
			},
			raw:   []int64{6, 10, 0},
			final: []int64{60, 100, 0},
		},
		{
			name: "existing pods' terms count: hard affinity weight 1, preferred by weight",
			pod:  mkPod("default", "p", "app", "web"),
			nodes: []*testNode{
				mkNode("n1", "a").with(withAffinity(mkPod("default", "x", "app", "x"), term(zoneKey, sel("app", "web")))),
				mkNode("n2", "b").with(withPreferred(mkPod("default", "y", "app", "y"), false, 5, term(zoneKey, sel("app", "web")))),
				mkNode("n3", "c").with(withPreferred(mkPod("default", "z", "app", "z"), true, 3, term(zoneKey, sel("app", "web")))),
			},
			raw:   []int64{1, 5, -3},
			final: []int64{50, 100, 0},
		},
		{
			name:  "no terms anywhere scores zero",
			pod:   mkPod("default", "p", "app", "web"),
			nodes: []*testNode{mkNode("n1", "a"), mkNode("n2", "b")},
			raw:   []int64{0, 0},
			final: []int64{0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := nodes(tc.nodes...)
			for _, idx := range []*Index{nil, NewIndex()} {
				s, err := PreFilterAffinityWith(tc.pod, all, Options{Index: idx})
				if err != nil {
					t.Fatal(err)
				}
				scores := make([]int64, len(all))
				for i, n := range all {
					scores[i] = s.Score(tc.pod, n)
				}
				if !reflect.DeepEqual(scores, tc.raw) {
					t.Fatalf("raw scores %v, want %v", scores, tc.raw)
				}
				NormalizeAffinityScores(scores)
				if !reflect.DeepEqual(scores, tc.final) {
					t.Fatalf("normalized scores %v, want %v", scores, tc.final)
				}
			}
		})
	}
}

func TestAffinityAddRemovePod(t *testing.T) {
	victim := mkPod("default", "w1", "app", "web")
	n1 := mkNode("n1", "a").with(victim)
	n2 := mkNode("n2", "a")
	pod := withAntiAffinity(mkPod("default", "p", "app", "web"), term(hostKey, sel("app", "web")))
	s, err := PreFilterAffinity(pod, nodes(n1, n2))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	c.RemovePod(victim, n1)
	if ok, reason := c.Filter(pod, n1); !ok {
		t.Fatalf("after removing the victim: %s", reason)
	}
	if ok, _ := s.Filter(pod, n1); ok {
		t.Fatal("clone changes leaked into the original state")
	}
	blocker := withAntiAffinity(mkPod("default", "b", "app", "db"), term(zoneKey, sel("app", "web")))
	c.AddPod(blocker, n2)
	if ok, reason := c.Filter(pod, n1); ok || reason != ReasonExistingAntiAffinityRulesNotMatch {
		t.Fatalf("after adding a blocker: ok=%v reason %q", ok, reason)
	}
}

func TestUnresolvable(t *testing.T) {
	for reason, want := range map[string]bool{
		ReasonAffinityRulesNotMatch:             true,
		ReasonSpreadMissingLabel:                true,
		ReasonAntiAffinityRulesNotMatch:         false,
		ReasonExistingAntiAffinityRulesNotMatch: false,
		ReasonSpreadConstraintsNotMatch:         false,
	} {
		if got := Unresolvable(reason); got != want {
			t.Errorf("Unresolvable(%q) = %v, want %v", reason, got, want)
		}
	}
}
