package interpod

import (
	corev1 "k8s.io/api/core/v1"
)

// Node is the view of one node the scheduler's snapshot offers. Pods must
// include assumed (not yet bound) pods so that rules see in-flight placements.
type Node interface {
	Node() *corev1.Node
	Pods() []*corev1.Pod
}

// NamespaceLabeler returns the labels of a namespace, or nil with false when
// the namespace is unknown. It is needed only to evaluate affinity terms that
// use namespaceSelector; without one, only an empty selector ({}, meaning all
// namespaces) and the term's explicit namespaces are honoured.
type NamespaceLabeler func(namespace string) (map[string]string, bool)

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
