package framework

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// FitError says why a pod fits no node; its Error() is the
// FailedScheduling message and the PodScheduled condition's message,
// worded exactly as upstream.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	// Statuses holds each rejected node's status.
	Statuses map[string]*Status
	// PreFilterMsg is set when a PreFilter rejected the pod outright.
	PreFilterMsg string
	// PostFilterMsg is the PostFilter (preemption) outcome.
	PostFilterMsg string
}

// Error implements error: "0/N nodes are available: <count> <reason>,
// ... [postfilter message]" with reasons sorted as strings.
func (f *FitError) Error() string {
	msg := fmt.Sprintf("0/%d nodes are available:", f.NumAllNodes)
	if f.PreFilterMsg != "" {
		msg += " " + f.PreFilterMsg + "."
	} else if h := ReasonHistogram(f.Statuses); len(h) > 0 {
		msg += " " + strings.Join(h, ", ") + "."
	}
	if f.PostFilterMsg != "" {
		msg += " " + f.PostFilterMsg
	}
	return msg
}

// ReasonHistogram counts reasons over nodes as "<count> <reason>", sorted.
func ReasonHistogram(statuses map[string]*Status) []string {
	counts := map[string]int{}
	for _, s := range statuses {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(out)
	return out
}
