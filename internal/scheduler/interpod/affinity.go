package interpod

import (
	corev1 "k8s.io/api/core/v1"
)

// AffinityState is what PreFilterAffinity precomputes once per pod per
// scheduling cycle; Filter and Score answer per node from it.
type AffinityState struct{}

// PreFilterAffinity builds the affinity state of pod over all nodes.
func PreFilterAffinity(pod *corev1.Pod, nodes []Node) (*AffinityState, error) {
	return PreFilterAffinityNS(pod, nodes, nil)
}

// PreFilterAffinityNS is PreFilterAffinity with namespace labels available
// for namespaceSelector terms.
func PreFilterAffinityNS(pod *corev1.Pod, nodes []Node, nsLabels NamespaceLabeler) (*AffinityState, error) {
	return &AffinityState{}, nil
}

// Filter reports whether pod may run on node, and if not, why.
func (s *AffinityState) Filter(pod *corev1.Pod, node Node) (ok bool, reason string) { return true, "" }

// Score is the raw preferred-term score of node (may be negative).
func (s *AffinityState) Score(pod *corev1.Pod, node Node) int64 { return 0 }

// AddPod updates the state as if p were running on node.
func (s *AffinityState) AddPod(p *corev1.Pod, node Node) {}

// RemovePod updates the state as if p were no longer running on node.
func (s *AffinityState) RemovePod(p *corev1.Pod, node Node) {}

// NormalizeAffinityScores rescales raw scores in place to 0..MaxNodeScore.
func NormalizeAffinityScores(scores []int64) {}
