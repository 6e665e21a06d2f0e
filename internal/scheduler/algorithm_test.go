package scheduler

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/plugins"
)

func TestNumFeasibleNodesToFind(t *testing.T) {
	tests := []struct {
		name       string
		percentage int32
		nodes      int
		want       int
	}{
		{"small cluster: all", 0, 99, 99},
		{"adaptive at 100 nodes: 50% but at least 100", 0, 100, 100},
		{"adaptive at 1000 nodes: 42%", 0, 1000, 420},
		{"adaptive at 5000 nodes: 10%", 0, 5000, 500},
		{"adaptive floor 5%", 0, 20000, 1000},
		{"explicit percentage", 30, 1000, 300},
		{"explicit percentage floor of 100 nodes", 1, 1000, 100},
		{"100% is all", 100, 5000, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NumFeasibleNodesToFind(tt.percentage, tt.nodes); got != tt.want {
				t.Errorf("NumFeasibleNodesToFind(%d, %d) = %d, want %d", tt.percentage, tt.nodes, got, tt.want)
			}
		})
	}
}

func newTestAlgorithm(nodes []*corev1.Node, seed int64) (*Algorithm, *Cache, *framework.Snapshot) {
	c := NewCache(0, nil)
	for _, n := range nodes {
		c.AddNode(n)
	}
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	prof := plugins.DefaultProfile(plugins.ProfileOptions{Preemption: plugins.PreemptionOptions{Lookup: snap.Get, NumNodes: snap.NumNodes}, Interpod: plugins.InterpodOptions{Snapshot: snap}})
	return NewAlgorithm(prof, 4, 0, seed), c, snap
}

// TestSelectHostSpreadsTies: identical empty nodes tie, and the seeded
// random choice spreads pods over all of them.
func TestSelectHostSpreadsTies(t *testing.T) {
	var nodes []*corev1.Node
	for i := 0; i < 4; i++ {
		nodes = append(nodes, benchNode(i*10+1)) // untainted
	}
	alg, _, snap := newTestAlgorithm(nodes, 42)
	seen := map[string]int{}
	for i := 0; i < 200; i++ {
		p := benchPod(1, i)
		p.OwnerReferences = nil
		res, err := alg.Schedule(context.Background(), framework.NewCycleState(), snap, p, "")
		if err != nil {
			t.Fatal(err)
		}
		seen[res.Node]++
	}
	if len(seen) != 4 {
		t.Errorf("ties went to %d of 4 nodes: %v", len(seen), seen)
	}
}

// TestEquivalenceClassSharesVerdicts schedules pods of one class: once the
// preferred node is full, the next pod must not use its stale cached
// verdict, because the node's generation changed when a pod was assumed.
func TestEquivalenceClassSharesVerdicts(t *testing.T) {
	small := benchNode(1)
	small.Status.Allocatable[corev1.ResourcePods] = resource.MustParse("1")
	alg, c, snap := newTestAlgorithm([]*corev1.Node{small, benchNode(2)}, 1)
	ctx := context.Background()
	placed := map[string]int{}
	for i := 0; i < 6; i++ {
		p := benchPod(3, i)
		class := EquivalenceClass(p)
		if class == "" {
			t.Fatal("ReplicaSet pod has no class")
		}
		c.UpdateSnapshot(snap)
		res, err := alg.Schedule(ctx, framework.NewCycleState(), snap, p, class)
		if err != nil {
			t.Fatal(err)
		}
		a := p.DeepCopy()
		a.Spec.NodeName = res.Node
		if err := c.AssumePod(a); err != nil {
			t.Fatal(err)
		}
		placed[res.Node]++
	}
	if placed["node-00001"] != 1 || placed["node-00002"] != 5 {
		t.Errorf("placements %v, want 1 on the 1-pod node and 5 on the other", placed)
	}
	if len(alg.eq.entries) != 1 {
		t.Errorf("%d equivalence entries, want 1", len(alg.eq.entries))
	}
}

func TestEquivalenceClassKey(t *testing.T) {
	a, b := benchPod(1, 0), benchPod(1, 1)
	if EquivalenceClass(a) != EquivalenceClass(b) {
		t.Error("pods of one set with equal specs differ")
	}
	b.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
	if EquivalenceClass(a) == EquivalenceClass(b) {
		t.Error("a toleration did not change the class")
	}
	c := benchPod(2, 0)
	c.Spec = a.Spec
	if EquivalenceClass(a) == EquivalenceClass(c) {
		t.Error("pods of different owners share a class")
	}
	a.OwnerReferences = nil
	if EquivalenceClass(a) != "" {
		t.Error("a pod without controller has a class")
	}
}

func TestScheduleFitError(t *testing.T) {
	nodes := []*corev1.Node{benchNode(0), benchNode(1), benchNode(2)} // node 0 is tainted
	alg, _, snap := newTestAlgorithm(nodes, 1)
	p := benchPod(1, 0)
	p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("64")
	_, err := alg.Schedule(context.Background(), framework.NewCycleState(), snap, p, EquivalenceClass(p))
	var fe *framework.FitError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want FitError", err)
	}
	want := "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: infra}, 2 Insufficient cpu. " +
		"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	if fe.Error() != want {
		t.Errorf("message:\n got %q\nwant %q", fe.Error(), want)
	}
	if _, err := alg.Schedule(context.Background(), framework.NewCycleState(), framework.NewSnapshot(), p, ""); !errors.Is(err, errNoNodes) {
		t.Errorf("empty cluster: err = %v", err)
	}
}

// TestSampling: in a large cluster only the sample is evaluated, and the
// start rotates so consecutive pods look at different nodes.
func TestSampling(t *testing.T) {
	var nodes []*corev1.Node
	for i := 0; i < 1000; i++ {
		n := benchNode(i)
		n.Spec.Taints = nil
		nodes = append(nodes, n)
	}
	alg, _, snap := newTestAlgorithm(nodes, 1)
	p := benchPod(1, 0)
	p.OwnerReferences = nil
	res, err := alg.Schedule(context.Background(), framework.NewCycleState(), snap, p, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Feasible != 420 || res.Evaluated < 420 || res.Evaluated >= 1000 {
		t.Errorf("feasible %d evaluated %d, want 420 feasible of a partial sample", res.Feasible, res.Evaluated)
	}
	if alg.nextStart != res.Evaluated%1000 {
		t.Errorf("next start %d, want %d", alg.nextStart, res.Evaluated)
	}
}
