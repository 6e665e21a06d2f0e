package scheduler

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/interpod"
	"kplane/internal/scheduler/plugins"
)

// TestSpreadIndexFollowsSnapshotChanges drives the PodTopologySpread
// plugin, whose index syncs from the snapshot's change log, through random
// binds, deletions, node relabels and node additions in the scheduler's
// cache, and checks every cycle against a fresh scan of the snapshot
// without an index.
func TestSpreadIndexFollowsSnapshotChanges(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	c := NewCache(0, nil)
	node := func(i, zone int) *corev1.Node {
		n := benchNode(i)
		n.Spec.Taints = nil
		n.Labels["topology.kubernetes.io/zone"] = fmt.Sprintf("zone-%d", zone)
		n.ResourceVersion = fmt.Sprint(rng.Int())
		return n
	}
	nodes := 40
	for i := range nodes {
		c.AddNode(node(i, i%3))
	}
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	plugin := plugins.NewPodTopologySpread(plugins.InterpodOptions{Snapshot: snap, Parallelism: 1})
	ctx := context.Background()
	var pods []*corev1.Pod
	for step := range 400 {
		switch r := rng.Intn(20); {
		case r < 12 || len(pods) == 0: // bind a pod of one of 4 ReplicaSets
			p := benchPod(rng.Intn(4), step)
			p.Spec.NodeSelector = nil
			p.UID = types.UID(fmt.Sprint("uid-", step))
			p.Spec.NodeName = snap.List[rng.Intn(len(snap.List))].Name()
			c.AddPod(p)
			pods = append(pods, p)
		case r < 16: // delete a pod
			i := rng.Intn(len(pods))
			c.RemovePod(pods[i])
			pods = append(pods[:i], pods[i+1:]...)
		case r < 19: // a node moves zone
			c.UpdateNode(node(rng.Intn(nodes), rng.Intn(3)))
		default: // a node joins
			c.AddNode(node(nodes, rng.Intn(3)))
			nodes++
		}
		c.UpdateSnapshot(snap)

		pod := benchPod(rng.Intn(4), 10000+step)
		if step%2 == 0 {
			pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
				MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
				LabelSelector: &metav1.LabelSelector{MatchLabels: pod.Labels},
			}}
		}
		state := framework.NewCycleState()
		if s := plugin.PreFilter(ctx, state, pod, snap.List); s != nil && !s.IsSuccess() && !s.IsSkip() {
			t.Fatalf("step %d: PreFilter: %v", step, s.AsError())
		}
		all := make([]interpod.Node, len(snap.List))
		for i, n := range snap.List {
			all[i] = n
		}
		want, err := interpod.PreFilterSpread(pod, all)
		if err != nil {
			t.Fatal(err)
		}
		if s := plugin.PreScore(ctx, state, pod, snap.List); s != nil && !s.IsSuccess() {
			t.Fatalf("step %d: PreScore: %v", step, s.AsError())
		}
		want.PreScore(all)
		for i, n := range snap.List {
			wok, wreason := want.Filter(pod, all[i])
			got := plugin.Filter(ctx, state, pod, n)
			if got.IsSuccess() != wok || (!wok && got.Reasons()[0] != wreason) {
				t.Fatalf("step %d: filter on %s: plugin %v, scan %v %q", step, n.Name(), got.Reasons(), wok, wreason)
			}
			gs, st := plugin.Score(ctx, state, pod, n)
			if !st.IsSuccess() {
				t.Fatalf("step %d: score: %v", step, st.AsError())
			}
			if ws := want.Score(pod, all[i]); gs != ws {
				t.Fatalf("step %d: score on %s: plugin %d, scan %d", step, n.Name(), gs, ws)
			}
		}
	}
}
