package plugins

import (
	"context"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kplane/internal/scheduler/framework"
)

// recordingEvictor remembers what preemption asked to evict.
type recordingEvictor struct {
	node    string
	victims []string
}

func (r *recordingEvictor) Preempt(_ context.Context, _ *corev1.Pod, node string, victims []*corev1.Pod) error {
	r.node = node
	for _, v := range victims {
		r.victims = append(r.victims, v.Name)
	}
	return nil
}

// nominatedMap is a fixed NominatedPods.
type nominatedMap map[string][]*framework.PodInfo

func (m nominatedMap) NominatedPodsForNode(n string) []*framework.PodInfo { return m[n] }

func prio(v int32) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.Priority = &v } }

func labelled(k, v string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Labels = map[string]string{k: v} }
}

func started(sec int64) func(*corev1.Pod) {
	return func(p *corev1.Pod) { t := metav1.Unix(sec, 0); p.Status.StartTime = &t }
}

func hostname(n *corev1.Node) { n.Labels[corev1.LabelHostname] = n.Name }

// preemptionSetup builds a profile over nodes and runs PreFilter, Filter
// and PostFilter for pod as the algorithm does.
func runPreemption(t *testing.T, nodes []*framework.NodeInfo, pod *corev1.Pod, pdbs []*policyv1.PodDisruptionBudget, nominated nominatedMap) (*framework.PostFilterResult, *framework.Status, *recordingEvictor) {
	t.Helper()
	snap := framework.NewSnapshotFrom(nodes)
	ev := &recordingEvictor{}
	opts := ProfileOptions{
		Preemption: PreemptionOptions{Lookup: snap.Get, NumNodes: snap.NumNodes, Evictor: ev, Parallelism: 4,
			PDBs: func() []*policyv1.PodDisruptionBudget { return pdbs }},
		Interpod: InterpodOptions{Snapshot: snap, DisableDefaultSpread: true},
	}
	if nominated != nil {
		opts.Nominated = nominated
	}
	prof := DefaultProfile(opts)
	ctx := context.Background()
	state := framework.NewCycleState()
	if s := prof.RunPreFilter(ctx, state, pod, snap.List); !s.IsSuccess() {
		t.Fatalf("PreFilter: %v", s.AsError())
	}
	statuses := map[string]*framework.Status{}
	for _, n := range snap.List {
		s := prof.RunFilterWithNominatedPods(ctx, state, pod, n)
		if s.IsSuccess() {
			t.Fatalf("pod fits node %s without preemption", n.Name())
		}
		statuses[n.Name()] = s
	}
	r, s := prof.RunPostFilter(ctx, state, pod, statuses)
	return r, s, ev
}

func TestPreemption(t *testing.T) {
	never := corev1.PreemptNever
	tainted := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "k", Value: "v", Effect: corev1.TaintEffectNoSchedule}}
	}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "guard", Namespace: "default"},
		Spec:   policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
		Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 0}}
	cases := []struct {
		name      string
		nodes     []*framework.NodeInfo
		pod       *corev1.Pod
		pdbs      []*policyv1.PodDisruptionBudget
		nominated nominatedMap
		// wantNode "" expects failure with wantMsg.
		wantNode    string
		wantVictims []string
		wantMsg     string
	}{
		{
			name: "upstream message when no node has victims",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("high", "2", "", prio(100))),
				nodeInfo(testNode("b", "2", "4Gi", 10), testPod("low", "1", "", prio(1)), testPod("mid", "1", "", prio(100))),
				nodeInfo(testNode("c", "4", "4Gi", 10, tainted)),
			},
			pod:     testPod("p", "2", "", prio(10)),
			wantMsg: "preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
		},
		{
			name:    "preemptionPolicy Never",
			nodes:   []*framework.NodeInfo{nodeInfo(testNode("a", "2", "4Gi", 10), testPod("low", "2", "", prio(1)))},
			pod:     testPod("p", "2", "", prio(10), func(p *corev1.Pod) { p.Spec.PreemptionPolicy = &never }),
			wantMsg: "preemption: not eligible due to preemptionPolicy=Never.",
		},
		{
			name: "equal priority is no victim",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("same", "2", "", prio(10))),
			},
			pod:     testPod("p", "2", "", prio(10)),
			wantMsg: "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name: "lowest highest-victim priority wins",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("a1", "1", "", prio(1)), testPod("a2", "1", "", prio(1))),
				nodeInfo(testNode("b", "2", "4Gi", 10), testPod("b1", "2", "", prio(5))),
			},
			pod:      testPod("p", "2", "", prio(10)),
			wantNode: "a", wantVictims: []string{"a1", "a2"},
		},
		{
			name: "fewer victims of equal priority win",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("a1", "1", "", prio(1)), testPod("a2", "1", "", prio(1))),
				nodeInfo(testNode("b", "2", "4Gi", 10), testPod("b1", "2", "", prio(1))),
			},
			pod:      testPod("p", "2", "", prio(10)),
			wantNode: "b", wantVictims: []string{"b1"},
		},
		{
			name: "latest started victims win a tie",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("old", "2", "", prio(1), started(100))),
				nodeInfo(testNode("b", "2", "4Gi", 10), testPod("young", "2", "", prio(1), started(200))),
			},
			pod:      testPod("p", "2", "", prio(10)),
			wantNode: "b", wantVictims: []string{"young"},
		},
		{
			name: "most important victims are reprieved",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "4", "4Gi", 10),
					testPod("p1", "1", "", prio(1)), testPod("p2", "1", "", prio(2)), testPod("p3", "2", "", prio(3))),
			},
			pod:      testPod("p", "2", "", prio(10)),
			wantNode: "a", wantVictims: []string{"p1", "p2"},
		},
		{
			name: "PDB violations are avoided",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("guarded", "2", "", prio(1), labelled("app", "guarded"), started(200))),
				nodeInfo(testNode("b", "2", "4Gi", 10), testPod("free", "2", "", prio(1), started(100))),
			},
			pdbs:     []*policyv1.PodDisruptionBudget{pdb},
			pod:      testPod("p", "2", "", prio(10)),
			wantNode: "b", wantVictims: []string{"free"},
		},
		{
			name: "PDB is violated when nothing else helps",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "2", "4Gi", 10), testPod("guarded", "2", "", prio(1), labelled("app", "guarded"))),
			},
			pdbs:     []*policyv1.PodDisruptionBudget{pdb},
			pod:      testPod("p", "2", "", prio(10)),
			wantNode: "a", wantVictims: []string{"guarded"},
		},
		{
			name: "anti-affinity to a lower-priority pod is resolved by evicting it",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "4", "4Gi", 10, hostname), testPod("web", "1", "", prio(1), labelled("app", "web"))),
			},
			pod: testPod("p", "1", "", prio(10), func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
					RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
						LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: corev1.LabelHostname,
					}},
				}}
			}),
			wantNode: "a", wantVictims: []string{"web"},
		},
		{
			name: "room kept for a higher-priority nominated pod",
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "4", "4Gi", 10), testPod("low", "2", "", prio(1))),
			},
			nominated: nominatedMap{"a": {framework.NewPodInfo(testPod("nominee", "2", "", prio(100)))}},
			pod:       testPod("p", "2", "", prio(10)),
			// Without the nominee the pod would fit; with it, low must go.
			wantNode: "a", wantVictims: []string{"low"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, s, ev := runPreemption(t, tc.nodes, tc.pod, tc.pdbs, tc.nominated)
			if tc.wantNode == "" {
				if s.IsSuccess() || s.Message() != tc.wantMsg {
					t.Errorf("status %v %q, want failure %q", s.Code(), s.Message(), tc.wantMsg)
				}
				if ev.node != "" {
					t.Errorf("evicted on %s: %v", ev.node, ev.victims)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatalf("status %v %q, want success", s.Code(), s.Message())
			}
			if r == nil || r.NominatedNodeName != tc.wantNode || ev.node != tc.wantNode {
				t.Errorf("nominated %+v, evicted on %q; want %s", r, ev.node, tc.wantNode)
			}
			got := append([]string(nil), ev.victims...)
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.wantVictims, ",") {
				t.Errorf("victims %v, want %v", got, tc.wantVictims)
			}
		})
	}
}

// TestNominatedPodsFilter: a lower-priority pod may not take the room of a
// nominated pod; a higher-priority one may.
func TestNominatedPodsFilter(t *testing.T) {
	ni := nodeInfo(testNode("a", "2", "4Gi", 10))
	prof := DefaultProfile(ProfileOptions{
		Nominated: nominatedMap{"a": {framework.NewPodInfo(testPod("nominee", "2", "", prio(10)))}},
		Interpod:  InterpodOptions{DisableDefaultSpread: true},
	})
	ctx := context.Background()
	for _, tc := range []struct {
		prio int32
		fits bool
	}{{5, false}, {10, false}, {20, true}} {
		pod := testPod("p", "1", "", prio(tc.prio))
		state := framework.NewCycleState()
		if s := prof.RunPreFilter(ctx, state, pod, []*framework.NodeInfo{ni}); !s.IsSuccess() {
			t.Fatal(s.AsError())
		}
		s := prof.RunFilterWithNominatedPods(ctx, state, pod, ni)
		if s.IsSuccess() != tc.fits {
			t.Errorf("priority %d: fits %v (%q), want %v", tc.prio, s.IsSuccess(), s.Message(), tc.fits)
		}
	}
}
