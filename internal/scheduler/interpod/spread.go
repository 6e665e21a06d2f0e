package interpod

import (
	corev1 "k8s.io/api/core/v1"
)

// SpreadState is what PreFilterSpread precomputes once per pod per cycle.
type SpreadState struct{}

// PreFilterSpread builds the topology spread state of pod over all nodes.
func PreFilterSpread(pod *corev1.Pod, nodes []Node) (*SpreadState, error) { return &SpreadState{}, nil }

// Filter reports whether pod may run on node under DoNotSchedule constraints.
func (s *SpreadState) Filter(pod *corev1.Pod, node Node) (ok bool, reason string) { return true, "" }

// Score is the raw ScheduleAnyway score of node (lower raw = better before normalizing).
func (s *SpreadState) Score(pod *corev1.Pod, node Node) int64 { return 0 }

// AddPod updates the state as if p were running on node.
func (s *SpreadState) AddPod(p *corev1.Pod, node Node) {}

// RemovePod updates the state as if p were no longer running on node.
func (s *SpreadState) RemovePod(p *corev1.Pod, node Node) {}

// NormalizeSpreadScores rescales raw scores in place to 0..MaxNodeScore.
func NormalizeSpreadScores(scores []int64) {}
