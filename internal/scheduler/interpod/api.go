package interpod

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Node is the view of one node the scheduler's snapshot offers. Pods must
// include assumed (not yet bound) pods so that rules see in-flight placements.
type Node interface {
	Node() *corev1.Node
	Pods() []*corev1.Pod
}

// Generationer is optionally implemented by a Node whose snapshot keeps a
// generation number that changes whenever the node or its pods change (as
// upstream's NodeInfo.Generation). An Index then compares generations
// instead of every pod pointer, which at 150,000 pods is most of its
// per-cycle cost.
type Generationer interface {
	Generation() int64
}

// ChangeLog is optionally given with a node list so an Index re-reads only
// the positions that changed since its last sync instead of comparing
// every node's generation, which at 5,000 nodes is a walk per cycle for
// the one node the previous bind changed.
type ChangeLog interface {
	// Current returns the node list's version (it changes when nodes are
	// added, removed or reordered) and generation.
	Current() (version, gen int64)
	// ChangesSince calls fn with every position changed after generation
	// gen (repeats allowed) and returns true, or returns false when the
	// list is no longer at version or the log does not reach back to gen.
	ChangesSince(version, gen int64, fn func(pos int)) bool
}

// NamespaceLabeler returns the labels of a namespace, or nil with false when
// the namespace is unknown. It is needed only to evaluate affinity terms that
// use namespaceSelector; without one, only an empty selector ({}, meaning all
// namespaces) and the term's explicit namespaces are honoured.
type NamespaceLabeler func(namespace string) (map[string]string, bool)

// Options tune PreFilterAffinityWith and PreFilterSpreadWith. The zero value
// is the upstream default configuration.
type Options struct {
	// NamespaceLabels resolves namespace labels for namespaceSelector terms.
	// Default nil: only empty namespace selectors and explicit namespaces
	// match.
	NamespaceLabels NamespaceLabeler
	// Parallelism bounds the goroutines one PreFilter uses to scan nodes.
	// Default 0: GOMAXPROCS. Small clusters are scanned on one goroutine.
	Parallelism int
	// HardPodAffinityWeight is the score weight of existing pods' required
	// affinity terms the incoming pod matches. Default 0 means upstream's 1;
	// negative disables it.
	HardPodAffinityWeight int32
	// DefaultSpreadSelector returns the selector the system default spread
	// constraints (zone maxSkew 5, hostname maxSkew 3, ScheduleAnyway) use
	// for a pod that declares no constraints; nil result means no defaults
	// for that pod. Upstream merges the selectors of the Services,
	// ReplicationControllers, ReplicaSets and StatefulSets selecting the pod.
	// Default nil: DefaultOwnerSelector, which approximates that from the
	// pod's own labels when a ReplicaSet, ReplicationController or
	// StatefulSet controls it.
	DefaultSpreadSelector func(pod *corev1.Pod) *metav1.LabelSelector
	// Index, when set, is consulted and kept up to date instead of scanning
	// every pod of every node; see Index. Default nil: scan.
	Index *Index
	// Changes, when set, is the change log of the node list passed with
	// these Options; see ChangeLog. Default nil: compare every node.
	Changes ChangeLog
	// DisableDefaultSpread turns the system default constraints off, as
	// upstream's defaultingType List with no default constraints.
	DisableDefaultSpread bool
}

func (o *Options) hardWeight() int32 {
	switch {
	case o.HardPodAffinityWeight == 0:
		return 1
	case o.HardPodAffinityWeight < 0:
		return 0
	}
	return o.HardPodAffinityWeight
}

// topologyPair is one topology domain: a node label key and its value.
type topologyPair struct {
	key, value string
}

// pairCounts counts matches per topology domain; zero entries are removed so
// len() tells whether anything matched.
type pairCounts map[topologyPair]int64

// add adds delta to the domain of node for key, if node has the key.
func (m pairCounts) add(nodeLabels map[string]string, key string, delta int64) {
	v, ok := nodeLabels[key]
	if !ok {
		return
	}
	p := topologyPair{key: key, value: v}
	if n := m[p] + delta; n == 0 {
		delete(m, p)
	} else {
		m[p] = n
	}
}

func (m pairCounts) merge(o pairCounts) {
	if len(m) == 0 {
		// Bulk copy: far cheaper than growing m insert by insert.
		maps.Copy(m, o)
		return
	}
	for p, n := range o {
		if n += m[p]; n == 0 {
			delete(m, p)
		} else {
			m[p] = n
		}
	}
}

// Filter failure reasons, exactly as the upstream plugins report them so
// FailedScheduling messages read the same.
const (
	ReasonAffinityRulesNotMatch             = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"

	ReasonSpreadConstraintsNotMatch = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadMissingLabel        = "node(s) didn't match pod topology spread constraints (missing required label)"
)

// MaxNodeScore is the upper bound of normalized scores, as upstream.
const MaxNodeScore int64 = 100

// Unresolvable reports whether a Filter reason is one upstream returns as
// UnschedulableAndUnresolvable, i.e. evicting pods from the node cannot
// help, so preemption skips the node ("Preemption is not helpful for
// scheduling"). The other reasons are plain Unschedulable.
func Unresolvable(reason string) bool {
	return reason == ReasonAffinityRulesNotMatch || reason == ReasonSpreadMissingLabel
}
