package interpod

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kplane/internal/scheduler/nodeselector"
)

// requirement is one compiled label requirement. Matching it reads the label
// map once and allocates nothing, which matters because selectors are
// evaluated against every pod in the cluster once per scheduling cycle.
type requirement struct {
	key    string
	op     metav1.LabelSelectorOperator
	values []string
}

// selector is a compiled metav1.LabelSelector with the semantics of
// metav1.LabelSelectorAsSelector: a nil selector matches nothing, an empty
// one matches everything, an invalid one matches nothing.
type selector struct {
	nothing bool
	reqs    []requirement
}

// empty reports whether the selector is labels.Everything(); upstream
// topology spread counts no pods for such a selector.
func (s *selector) empty() bool { return !s.nothing && len(s.reqs) == 0 }

func (s *selector) matches(lbls map[string]string) bool {
	if s.nothing {
		return false
	}
	for i := range s.reqs {
		if !s.reqs[i].matches(lbls) {
			return false
		}
	}
	return true
}

func (r *requirement) matches(lbls map[string]string) bool {
	v, ok := lbls[r.key]
	switch r.op {
	case metav1.LabelSelectorOpIn:
		return ok && contains(r.values, v)
	case metav1.LabelSelectorOpNotIn:
		return !ok || !contains(r.values, v)
	case metav1.LabelSelectorOpExists:
		return ok
	case metav1.LabelSelectorOpDoesNotExist:
		return !ok
	}
	return false
}

func contains(values []string, v string) bool {
	for _, x := range values {
		if x == v {
			return true
		}
	}
	return false
}

// compileSelector compiles ls, adding matchLabelKeys (key In [owner's value])
// and mismatchLabelKeys (key NotIn [owner's value]) for keys the owner pod
// carries, as the API server merges them upstream.
func compileSelector(ls *metav1.LabelSelector, owner map[string]string, matchKeys, mismatchKeys []string) selector {
	if ls == nil {
		return selector{nothing: true}
	}
	s := selector{reqs: make([]requirement, 0, len(ls.MatchLabels)+len(ls.MatchExpressions)+len(matchKeys)+len(mismatchKeys))}
	for k, v := range ls.MatchLabels {
		s.reqs = append(s.reqs, requirement{key: k, op: metav1.LabelSelectorOpIn, values: []string{v}})
	}
	for _, e := range ls.MatchExpressions {
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				return selector{nothing: true}
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) != 0 {
				return selector{nothing: true}
			}
		default:
			return selector{nothing: true}
		}
		s.reqs = append(s.reqs, requirement{key: e.Key, op: e.Operator, values: e.Values})
	}
	for _, k := range matchKeys {
		if v, ok := owner[k]; ok {
			s.reqs = append(s.reqs, requirement{key: k, op: metav1.LabelSelectorOpIn, values: []string{v}})
		}
	}
	for _, k := range mismatchKeys {
		if v, ok := owner[k]; ok {
			s.reqs = append(s.reqs, requirement{key: k, op: metav1.LabelSelectorOpNotIn, values: []string{v}})
		}
	}
	// A canonical order lets equal selectors compare equal, so constraints
	// sharing a selector share one pass over the pods.
	sort.Slice(s.reqs, func(i, j int) bool { return s.reqs[i].key < s.reqs[j].key })
	return s
}

func (s *selector) equal(o *selector) bool {
	if s.nothing != o.nothing || len(s.reqs) != len(o.reqs) {
		return false
	}
	for i := range s.reqs {
		a, b := &s.reqs[i], &o.reqs[i]
		if a.key != b.key || a.op != b.op || len(a.values) != len(b.values) {
			return false
		}
		for j := range a.values {
			if a.values[j] != b.values[j] {
				return false
			}
		}
	}
	return true
}

// matchesLabelSelector evaluates ls against lbls without compiling it, for
// the terms of existing pods, which are seen once per cycle each and would
// otherwise cost an allocation per pod. owner/matchKeys/mismatchKeys are as
// in compileSelector.
func matchesLabelSelector(ls *metav1.LabelSelector, lbls, owner map[string]string, matchKeys, mismatchKeys []string) bool {
	if ls == nil {
		return false
	}
	for k, v := range ls.MatchLabels {
		if got, ok := lbls[k]; !ok || got != v {
			return false
		}
	}
	for i := range ls.MatchExpressions {
		e := &ls.MatchExpressions[i]
		r := requirement{key: e.Key, op: e.Operator, values: e.Values}
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				return false
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) != 0 {
				return false
			}
		}
		if !r.matches(lbls) {
			return false
		}
	}
	for _, k := range matchKeys {
		if v, ok := owner[k]; ok {
			if got, has := lbls[k]; !has || got != v {
				return false
			}
		}
	}
	for _, k := range mismatchKeys {
		if v, ok := owner[k]; ok {
			if got, has := lbls[k]; has && got == v {
				return false
			}
		}
	}
	return true
}

// nodeAffinity is the pod's required node placement (nodeSelector plus
// requiredDuringSchedulingIgnoredDuringExecution), used by the topology
// spread nodeAffinityPolicy Honor.
type nodeAffinity struct {
	nodeSelector map[string]string
	terms        []corev1.NodeSelectorTerm // nil means no required node affinity
	hasTerms     bool
}

func requiredNodeAffinity(pod *corev1.Pod) nodeAffinity {
	na := nodeAffinity{nodeSelector: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		na.terms = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		na.hasTerms = true
	}
	return na
}

func (na *nodeAffinity) matches(node *corev1.Node) bool {
	for k, v := range na.nodeSelector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	if !na.hasTerms {
		return true
	}
	for i := range na.terms {
		if nodeselector.TermMatches(&na.terms[i], node) {
			return true
		}
	}
	return false
}

// hasUntoleratedScheduleTaint reports whether node has a NoSchedule or
// NoExecute taint none of tolerations tolerates (nodeTaintsPolicy Honor).
func hasUntoleratedScheduleTaint(node *corev1.Node, tolerations []corev1.Toleration) bool {
	for i := range node.Spec.Taints {
		t := &node.Spec.Taints[i]
		if t.Effect != corev1.TaintEffectNoSchedule && t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		tolerated := false
		for j := range tolerations {
			if tolerates(&tolerations[j], t) {
				tolerated = true
				break
			}
		}
		if !tolerated {
			return true
		}
	}
	return false
}

func tolerates(tol *corev1.Toleration, t *corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != t.Key {
		return false
	}
	switch tol.Operator {
	case corev1.TolerationOpExists:
		return true
	case "", corev1.TolerationOpEqual:
		return tol.Value == t.Value
	}
	return false
}
