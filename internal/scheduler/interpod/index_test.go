package interpod

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestIndexFollowsSnapshotChanges reuses one Index across cycles while pods
// are added, moved and removed and nodes disappear, and checks every cycle
// against a fresh scan.
func TestIndexFollowsSnapshotChanges(t *testing.T) {
	anti := withAntiAffinity(mkPod("default", "p", "app", "web"), term(hostKey, sel("app", "web")))
	spread := withSpread(web("q"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"))
	blocker := withAntiAffinity(mkPod("default", "b", "app", "db"), term(zoneKey, sel("app", "web")))
	n1, n2, n3 := mkNode("n1", "a"), mkNode("n2", "b"), mkNode("n3", "c")
	steps := []struct {
		name  string
		apply func()
		nodes []*testNode
	}{
		{name: "empty", apply: func() {}, nodes: []*testNode{n1, n2, n3}},
		{name: "web pod on n1", apply: func() { n1.pods = []*corev1.Pod{web("w1")} }, nodes: []*testNode{n1, n2, n3}},
		{name: "blocker on n2", apply: func() { n2.pods = []*corev1.Pod{blocker} }, nodes: []*testNode{n1, n2, n3}},
		{name: "web pod moves to n3", apply: func() { n1.pods = nil; n3.pods = []*corev1.Pod{web("w1")} }, nodes: []*testNode{n1, n2, n3}},
		{name: "nodes reordered", apply: func() {}, nodes: []*testNode{n3, n1, n2}},
		{name: "n2 gone", apply: func() {}, nodes: []*testNode{n3, n1}},
		{name: "n1 relabeled into zone c", apply: func() {
			n1.node = n1.node.DeepCopy()
			n1.node.Labels[zoneKey] = "c"
		}, nodes: []*testNode{n3, n1}},
	}
	idx := NewIndex()
	for _, st := range steps {
		st.apply()
		all := nodes(st.nodes...)
		for _, pod := range []*corev1.Pod{anti, spread} {
			gotA, err := PreFilterAffinityWith(pod, all, Options{Index: idx})
			if err != nil {
				t.Fatal(err)
			}
			wantA, _ := PreFilterAffinity(pod, all)
			gotS, err := PreFilterSpreadWith(pod, all, Options{Index: idx})
			if err != nil {
				t.Fatal(err)
			}
			wantS, _ := PreFilterSpread(pod, all)
			for _, n := range all {
				if g, w := fmtFilter(gotA.Filter(pod, n)), fmtFilter(wantA.Filter(pod, n)); g != w {
					t.Fatalf("%s: affinity of %s on %s: index says %q, scan says %q", st.name, pod.Name, n.Node().Name, g, w)
				}
				if g, w := fmtFilter(gotS.Filter(pod, n)), fmtFilter(wantS.Filter(pod, n)); g != w {
					t.Fatalf("%s: spread of %s on %s: index says %q, scan says %q", st.name, pod.Name, n.Node().Name, g, w)
				}
			}
		}
	}
	// The blocker left with n2: its group must be gone, only w1 remains.
	if len(idx.anti) != 0 || len(idx.ns) != 1 || len(idx.ns["default"].all) != 1 {
		t.Fatalf("index holds %d anti groups and %d namespaces, want 0 and 1 with one pod", len(idx.anti), len(idx.ns))
	}
}

func fmtFilter(ok bool, reason string) string {
	if ok {
		return "fits"
	}
	return reason
}

// TestIndexedSpreadAddPodKeepsCacheIntact checks that a preemption what-if
// on a state built from the index's shared domain cache does not leak into
// later cycles.
func TestIndexedSpreadAddPodKeepsCacheIntact(t *testing.T) {
	pod := withSpread(web("p"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"))
	a1, b1 := mkNode("a1", "a").with(web("w1")), mkNode("b1", "b").with(web("w2"))
	outside := mkNode("z1", "z")
	all := nodes(a1, b1)
	idx := NewIndex()
	s, err := PreFilterSpreadWith(pod, all, Options{Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	c.AddPod(web("w3"), outside)
	s.AddPod(web("w4"), outside)
	again, err := PreFilterSpreadWith(pod, all, Options{Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	// Zones a and b hold one pod each: both fit. Had zone z leaked into the
	// cached domains, the minimum would be 0 and both would fail.
	for _, n := range all {
		if ok, reason := again.Filter(pod, n); !ok {
			t.Fatalf("%s: %s", n.Node().Name, reason)
		}
	}
}

// TestIndexUsesGenerations checks that with Generationer nodes the index
// trusts an unchanged generation and re-reads a node when it changes.
func TestIndexUsesGenerations(t *testing.T) {
	pod := withAntiAffinity(mkPod("default", "p", "app", "web"), term(hostKey, sel("app", "web")))
	n1 := &genNode{testNode: mkNode("n1", "a"), gen: 1}
	all := []Node{n1}
	idx := NewIndex()
	check := func(step, want string) {
		t.Helper()
		s, err := PreFilterAffinityWith(pod, all, Options{Index: idx})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmtFilter(s.Filter(pod, n1)); got != want {
			t.Fatalf("%s: got %q, want %q", step, got, want)
		}
	}
	check("empty", "fits")
	n1.pods = []*corev1.Pod{web("w1")}
	check("pod added without a generation bump is not seen", "fits")
	n1.gen++
	check("generation bumped", ReasonAntiAffinityRulesNotMatch)
}

// TestIndexedSpreadCountsFollowChanges checks the index's live selector
// counts, which answer spreading selectors (default spreading of
// ReplicaSet pods, one label or a Deployment's two) without walking the
// group's pods, against a fresh scan while pods are added, start
// terminating, move and leave, nodes change zone or lack one, and for a
// multi-value In selector and pods of another namespace.
func TestIndexedSpreadCountsFollowChanges(t *testing.T) {
	def := owned(web("p"), "ReplicaSet")
	deploy := owned(mkPod("default", "dp", "app", "web", "pod-template-hash", "h1"), "ReplicaSet")
	hard := withSpread(web("q"), hostKey, 1, corev1.DoNotSchedule, sel("app", "web"))
	zoneHard := withSpread(web("z"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"))
	zoneHard = withSpread(zoneHard, hostKey, 1, corev1.ScheduleAnyway, sel("app", "web"))
	inZoneA := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.NodeSelector = map[string]string{zoneKey: "a"}
		return p
	}
	selDef := inZoneA(owned(web("sd"), "ReplicaSet"))
	selHard := inZoneA(withSpread(web("sh"), hostKey, 1, corev1.DoNotSchedule, sel("app", "web")))
	selHard = withSpread(selHard, zoneKey, 1, corev1.DoNotSchedule, sel("app", "web"))
	ignore := corev1.NodeInclusionPolicyIgnore
	selIgnore := inZoneA(withSpread(web("si"), zoneKey, 1, corev1.DoNotSchedule, sel("app", "web")))
	selIgnore.Spec.TopologySpreadConstraints[0].NodeAffinityPolicy = &ignore
	hashed := func(name string) *corev1.Pod { return mkPod("default", name, "app", "web", "pod-template-hash", "h1") }
	in := withSpread(web("r"), zoneKey, 1, corev1.ScheduleAnyway, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "db"}}}})
	terminating := web("t")
	terminating.DeletionTimestamp = &metav1.Time{}
	n1, n2, n3 := mkNode("n1", "a"), mkNode("n2", "b"), mkNode("n3", "a")
	steps := []struct {
		name  string
		apply func()
	}{
		{name: "empty", apply: func() {}},
		{name: "web pods", apply: func() {
			n1.pods = []*corev1.Pod{web("w1"), web("w2")}
			n2.pods = []*corev1.Pod{web("w3")}
		}},
		{name: "db and other namespace", apply: func() {
			n3.pods = []*corev1.Pod{mkPod("default", "d1", "app", "db"), mkPod("other", "o1", "app", "web")}
		}},
		{name: "w2 terminating", apply: func() { n1.pods = []*corev1.Pod{web("w1"), terminating} }},
		{name: "terminating pod gone, w3 moves", apply: func() {
			n1.pods = []*corev1.Pod{web("w1")}
			n2.pods = nil
			n3.pods = append([]*corev1.Pod{web("w3")}, n3.pods...)
		}},
		{name: "deployment pods", apply: func() {
			n2.pods = []*corev1.Pod{hashed("h1"), hashed("h2"), mkPod("default", "h3", "app", "web", "pod-template-hash", "h0")}
		}},
		{name: "n3 moves to zone b", apply: func() {
			n3 = &testNode{node: mkNode("n3", "b").node, pods: n3.pods}
		}},
		{name: "n2 loses its zone label", apply: func() {
			n2 = &testNode{node: mkNode("n2", "").node, pods: n2.pods}
		}},
		{name: "n2 regains it", apply: func() {
			n2 = &testNode{node: mkNode("n2", "c").node, pods: n2.pods}
		}},
		{name: "all gone", apply: func() { n1.pods, n2.pods, n3.pods = nil, nil, nil }},
	}
	idx := NewIndex()
	for _, st := range steps {
		st.apply()
		all := nodes(n1, n2, n3)
		for _, pod := range []*corev1.Pod{def, deploy, hard, zoneHard, in, selDef, selHard, selIgnore} {
			got, err := PreFilterSpreadWith(pod, all, Options{Index: idx})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := PreFilterSpread(pod, all)
			got.PreScore(all)
			want.PreScore(all)
			for _, n := range all {
				if g, w := fmtFilter(got.Filter(pod, n)), fmtFilter(want.Filter(pod, n)); g != w {
					t.Fatalf("%s: filter %s on %s: index says %q, scan says %q", st.name, pod.Name, n.Node().Name, g, w)
				}
				if g, w := got.Score(pod, n), want.Score(pod, n); g != w {
					t.Fatalf("%s: score %s on %s: index says %d, scan says %d", st.name, pod.Name, n.Node().Name, g, w)
				}
			}
		}
	}
	if len(idx.sels) == 0 {
		t.Fatal("no selector counts kept")
	}
	for key, sc := range idx.sels {
		if len(sc.nodes) != 0 || len(sc.doms) != 0 {
			t.Fatalf("selector %q counts left after every pod left: nodes %v domains %v", key, sc.nodes, sc.doms)
		}
	}
}
