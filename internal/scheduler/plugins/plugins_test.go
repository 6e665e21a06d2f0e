package plugins

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
)

// testNode builds a node with allocatable cpu, memory and pods.
func testNode(name, cpu, mem string, pods int64, mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
		corev1.ResourcePods: *resource.NewQuantity(pods, resource.DecimalSI),
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func nodeInfo(n *corev1.Node, pods ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(n)
	return ni
}

// testPod builds a pod with one container requesting cpu and memory.
func testPod(name, cpu, mem string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	rl := corev1.ResourceList{}
	if cpu != "" {
		rl[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		rl[corev1.ResourceMemory] = resource.MustParse(mem)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: k8stypes.UID("uid-" + name)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: rl}}}}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func runFilter(t *testing.T, pl framework.FilterPlugin, pod *corev1.Pod, ni *framework.NodeInfo) *framework.Status {
	t.Helper()
	state := framework.NewCycleState()
	if pf, ok := pl.(framework.PreFilterPlugin); ok {
		if s := pf.PreFilter(context.Background(), state, pod, []*framework.NodeInfo{ni}); !s.IsSuccess() && !s.IsSkip() {
			t.Fatalf("PreFilter: %v", s.AsError())
		}
	}
	return pl.Filter(context.Background(), state, pod, ni)
}

func TestFilters(t *testing.T) {
	gpu := corev1.ResourceName("example.com/gpu")
	withGPU := func(n *corev1.Node) { n.Status.Allocatable[gpu] = resource.MustParse("1") }
	wantGPU := func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Requests[gpu] = resource.MustParse("2") }
	taint := func(k, v string, e corev1.TaintEffect) func(*corev1.Node) {
		return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: k, Value: v, Effect: e}) }
	}
	tolerate := func(tol corev1.Toleration) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, tol) }
	}
	label := func(k, v string) func(*corev1.Node) { return func(n *corev1.Node) { n.Labels[k] = v } }
	required := func(op corev1.NodeSelectorOperator, key string, vals ...string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: vals}}}}}}}
		}
	}
	hostPort := func(port int32, ip string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: 80, HostPort: port, HostIP: ip})
		}
	}
	tests := []struct {
		name     string
		plugin   framework.FilterPlugin
		pod      *corev1.Pod
		node     *corev1.Node
		existing []*corev1.Pod
		code     framework.Code
		reasons  string
	}{
		{name: "fit: fits", plugin: Fit{}, pod: testPod("p", "1", "1Gi"), node: testNode("n", "2", "2Gi", 10), code: framework.Success},
		{name: "fit: insufficient cpu with existing pod", plugin: Fit{}, pod: testPod("p", "1", ""), node: testNode("n", "2", "2Gi", 10),
			existing: []*corev1.Pod{testPod("e", "1500m", "")}, code: framework.Unschedulable, reasons: "Insufficient cpu"},
		{name: "fit: more than allocatable is unresolvable", plugin: Fit{}, pod: testPod("p", "4", "4Gi"), node: testNode("n", "2", "2Gi", 10),
			code: framework.UnschedulableAndUnresolvable, reasons: "Insufficient cpu, Insufficient memory"},
		{name: "fit: too many pods", plugin: Fit{}, pod: testPod("p", "", ""), node: testNode("n", "2", "2Gi", 1),
			existing: []*corev1.Pod{testPod("e", "", "")}, code: framework.Unschedulable, reasons: "Too many pods"},
		{name: "fit: extended resource", plugin: Fit{}, pod: testPod("p", "", "", wantGPU), node: testNode("n", "2", "2Gi", 10, withGPU),
			code: framework.UnschedulableAndUnresolvable, reasons: "Insufficient example.com/gpu"},
		{name: "fit: ephemeral storage absent on node", plugin: Fit{}, pod: testPod("p", "", "", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests[corev1.ResourceEphemeralStorage] = resource.MustParse("1Gi")
		}), node: testNode("n", "2", "2Gi", 10), code: framework.UnschedulableAndUnresolvable, reasons: "Insufficient ephemeral-storage"},
		{name: "nodename: other node", plugin: NodeName{}, pod: testPod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeName = "x" }),
			node: testNode("n", "1", "1Gi", 10), code: framework.UnschedulableAndUnresolvable, reasons: "node(s) didn't match the requested node name"},
		{name: "nodename: same node", plugin: NodeName{}, pod: testPod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeName = "n" }),
			node: testNode("n", "1", "1Gi", 10), code: framework.Success},
		{name: "unschedulable: cordoned", plugin: NodeUnschedulable{}, pod: testPod("p", "", ""),
			node: testNode("n", "1", "1Gi", 10, func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			code: framework.UnschedulableAndUnresolvable, reasons: "node(s) were unschedulable"},
		{name: "unschedulable: tolerated", plugin: NodeUnschedulable{},
			pod:  testPod("p", "", "", tolerate(corev1.Toleration{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})),
			node: testNode("n", "1", "1Gi", 10, func(n *corev1.Node) { n.Spec.Unschedulable = true }), code: framework.Success},
		{name: "taint: untolerated", plugin: TaintToleration{}, pod: testPod("p", "", ""),
			node: testNode("n", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)),
			code: framework.UnschedulableAndUnresolvable, reasons: "node(s) had untolerated taint {dedicated: gpu}"},
		{name: "taint: tolerated by equal", plugin: TaintToleration{},
			pod:  testPod("p", "", "", tolerate(corev1.Toleration{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})),
			node: testNode("n", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoSchedule)), code: framework.Success},
		{name: "taint: wrong value", plugin: TaintToleration{},
			pod:  testPod("p", "", "", tolerate(corev1.Toleration{Key: "dedicated", Value: "cpu"})),
			node: testNode("n", "1", "1Gi", 10, taint("dedicated", "gpu", corev1.TaintEffectNoExecute)),
			code: framework.UnschedulableAndUnresolvable, reasons: "node(s) had untolerated taint {dedicated: gpu}"},
		{name: "taint: empty key exists tolerates all", plugin: TaintToleration{},
			pod:  testPod("p", "", "", tolerate(corev1.Toleration{Operator: corev1.TolerationOpExists})),
			node: testNode("n", "1", "1Gi", 10, taint("a", "b", corev1.TaintEffectNoExecute)), code: framework.Success},
		{name: "taint: prefer no schedule does not filter", plugin: TaintToleration{}, pod: testPod("p", "", ""),
			node: testNode("n", "1", "1Gi", 10, taint("a", "b", corev1.TaintEffectPreferNoSchedule)), code: framework.Success},
		{name: "affinity: node selector mismatch", plugin: NodeAffinity{}, pod: testPod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			node: testNode("n", "1", "1Gi", 10, label("disk", "hdd")), code: framework.UnschedulableAndUnresolvable, reasons: "node(s) didn't match Pod's node affinity/selector"},
		{name: "affinity: node selector match", plugin: NodeAffinity{}, pod: testPod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			node: testNode("n", "1", "1Gi", 10, label("disk", "ssd")), code: framework.Success},
		{name: "affinity: In matches", plugin: NodeAffinity{}, pod: testPod("p", "", "", required(corev1.NodeSelectorOpIn, "zone", "a", "b")),
			node: testNode("n", "1", "1Gi", 10, label("zone", "b")), code: framework.Success},
		{name: "affinity: NotIn rejects", plugin: NodeAffinity{}, pod: testPod("p", "", "", required(corev1.NodeSelectorOpNotIn, "zone", "b")),
			node: testNode("n", "1", "1Gi", 10, label("zone", "b")), code: framework.UnschedulableAndUnresolvable, reasons: "node(s) didn't match Pod's node affinity/selector"},
		{name: "affinity: Gt", plugin: NodeAffinity{}, pod: testPod("p", "", "", required(corev1.NodeSelectorOpGt, "cores", "8")),
			node: testNode("n", "1", "1Gi", 10, label("cores", "16")), code: framework.Success},
		{name: "affinity: DoesNotExist rejects", plugin: NodeAffinity{}, pod: testPod("p", "", "", required(corev1.NodeSelectorOpDoesNotExist, "zone")),
			node: testNode("n", "1", "1Gi", 10, label("zone", "b")), code: framework.UnschedulableAndUnresolvable, reasons: "node(s) didn't match Pod's node affinity/selector"},
		{name: "ports: conflict", plugin: NodePorts{}, pod: testPod("p", "", "", hostPort(8080, "")), node: testNode("n", "1", "1Gi", 10),
			existing: []*corev1.Pod{testPod("e", "", "", hostPort(8080, "10.0.0.1"))}, code: framework.Unschedulable, reasons: "node(s) didn't have free ports for the requested pod ports"},
		{name: "ports: different port", plugin: NodePorts{}, pod: testPod("p", "", "", hostPort(8081, "")), node: testNode("n", "1", "1Gi", 10),
			existing: []*corev1.Pod{testPod("e", "", "", hostPort(8080, ""))}, code: framework.Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := runFilter(t, tt.plugin, tt.pod, nodeInfo(tt.node, tt.existing...))
			if s.Code() != tt.code || s.Message() != tt.reasons {
				t.Errorf("Filter = %v %q, want %v %q", s.Code(), s.Message(), tt.code, tt.reasons)
			}
		})
	}
}

func TestScores(t *testing.T) {
	ctx := context.Background()
	preferNoSchedule := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "a", Value: "b", Effect: corev1.TaintEffectPreferNoSchedule}}
	}
	preferred := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{
			{Weight: 10, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "disk", Operator: corev1.NodeSelectorOpIn, Values: []string{"ssd"}}}}},
			{Weight: 30, Preference: corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpExists}}}},
		}}}
	}
	tests := []struct {
		name   string
		plugin framework.ScorePlugin
		pod    *corev1.Pod
		nodes  []*framework.NodeInfo
		want   []int64
	}{
		{name: "least allocated: emptier node scores higher", plugin: Fit{}, pod: testPod("p", "1", "1Gi"),
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "4", "4Gi", 10)),
				nodeInfo(testNode("b", "4", "4Gi", 10), testPod("e", "2", "2Gi")),
			},
			// a: (3/4*100 + 3/4*100)/2 = 75; b: (1/4*100 + 1/4*100)/2 = 25.
			want: []int64{75, 25}},
		{name: "least allocated: zero requests count as 100m/200Mi", plugin: Fit{}, pod: testPod("p", "", ""),
			nodes: []*framework.NodeInfo{nodeInfo(testNode("a", "1", "1000Mi", 10))},
			// cpu (1000-100)*100/1000=90, memory (1000-200)*100/1000=80.
			want: []int64{85}},
		{name: "balanced: equal fractions score 100", plugin: BalancedAllocation{}, pod: testPod("p", "1", "1Gi"),
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "4", "4Gi", 10)),
				nodeInfo(testNode("b", "4", "4Gi", 10), testPod("e", "2", "")),
			},
			// b: cpu 3/4, memory 1/4: std 0.25 → 75.
			want: []int64{100, 75}},
		{name: "taint: fewer prefer-no-schedule taints win", plugin: TaintToleration{}, pod: testPod("p", "", ""),
			nodes: []*framework.NodeInfo{nodeInfo(testNode("a", "1", "1Gi", 10)), nodeInfo(testNode("b", "1", "1Gi", 10, preferNoSchedule))},
			want:  []int64{100, 0}},
		{name: "node affinity: preferred weights normalized", plugin: NodeAffinity{}, pod: testPod("p", "", "", preferred),
			nodes: []*framework.NodeInfo{
				nodeInfo(testNode("a", "1", "1Gi", 10, func(n *corev1.Node) { n.Labels["disk"] = "ssd" })),
				nodeInfo(testNode("b", "1", "1Gi", 10, func(n *corev1.Node) { n.Labels["disk"] = "ssd"; n.Labels["zone"] = "z" })),
				nodeInfo(testNode("c", "1", "1Gi", 10)),
			},
			want: []int64{25, 100, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := framework.NewCycleState()
			if pf, ok := tt.plugin.(framework.PreFilterPlugin); ok {
				pf.PreFilter(ctx, state, tt.pod, tt.nodes)
			}
			if ps, ok := tt.plugin.(framework.PreScorePlugin); ok {
				if s := ps.PreScore(ctx, state, tt.pod, tt.nodes); !s.IsSuccess() {
					t.Fatalf("PreScore: %v", s.Code())
				}
			}
			scores := make([]framework.NodeScore, len(tt.nodes))
			for i, n := range tt.nodes {
				v, s := tt.plugin.Score(ctx, state, tt.pod, n)
				if !s.IsSuccess() {
					t.Fatalf("Score: %v", s.AsError())
				}
				scores[i] = framework.NodeScore{Name: n.Name(), Score: v}
			}
			if ext := tt.plugin.ScoreExtensions(); ext != nil {
				ext.NormalizeScore(ctx, state, tt.pod, scores)
			}
			for i, w := range tt.want {
				if scores[i].Score != w {
					t.Errorf("node %s score = %d, want %d", scores[i].Name, scores[i].Score, w)
				}
			}
		})
	}
}

func TestBalancedSkipsBestEffort(t *testing.T) {
	s := BalancedAllocation{}.PreScore(context.Background(), framework.NewCycleState(), testPod("p", "", ""), nil)
	if !s.IsSkip() {
		t.Errorf("PreScore = %v, want Skip", s.Code())
	}
}
