package interpod

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testNode is a Node backed by plain values.
type testNode struct {
	node *corev1.Node
	pods []*corev1.Pod
}

func (n *testNode) Node() *corev1.Node  { return n.node }
func (n *testNode) Pods() []*corev1.Pod { return n.pods }

// mkNode builds a node named name with the hostname label, an optional zone
// and extra labels as key, value pairs.
func mkNode(name, zone string, kv ...string) *testNode {
	lbls := map[string]string{corev1.LabelHostname: name}
	if zone != "" {
		lbls[corev1.LabelTopologyZone] = zone
	}
	for i := 0; i+1 < len(kv); i += 2 {
		lbls[kv[i]] = kv[i+1]
	}
	return &testNode{node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}}
}

func (n *testNode) with(pods ...*corev1.Pod) *testNode {
	n.pods = append(n.pods, pods...)
	return n
}

func (n *testNode) taint(key string, effect corev1.TaintEffect) *testNode {
	n.node.Spec.Taints = append(n.node.Spec.Taints, corev1.Taint{Key: key, Effect: effect})
	return n
}

// mkPod builds a pod in ns with labels given as key, value pairs.
func mkPod(ns, name string, kv ...string) *corev1.Pod {
	lbls := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		lbls[kv[i]] = kv[i+1]
	}
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls}}
}

func sel(kv ...string) *metav1.LabelSelector {
	ml := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		ml[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: ml}
}

func term(key string, ls *metav1.LabelSelector) corev1.PodAffinityTerm {
	return corev1.PodAffinityTerm{LabelSelector: ls, TopologyKey: key}
}

func affinity(p *corev1.Pod) *corev1.Affinity {
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	return p.Spec.Affinity
}

func withAffinity(p *corev1.Pod, terms ...corev1.PodAffinityTerm) *corev1.Pod {
	a := affinity(p)
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return p
}

func withAntiAffinity(p *corev1.Pod, terms ...corev1.PodAffinityTerm) *corev1.Pod {
	a := affinity(p)
	if a.PodAntiAffinity == nil {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, terms...)
	return p
}

func withPreferred(p *corev1.Pod, anti bool, weight int32, t corev1.PodAffinityTerm) *corev1.Pod {
	a := affinity(p)
	w := corev1.WeightedPodAffinityTerm{Weight: weight, PodAffinityTerm: t}
	if anti {
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution, w)
		return p
	}
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution, w)
	return p
}

func nodes(ns ...*testNode) []Node {
	out := make([]Node, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// genNode is a testNode with a generation, as a scheduler snapshot has.
type genNode struct {
	*testNode
	gen int64
}

func (n *genNode) Generation() int64 { return n.gen }
