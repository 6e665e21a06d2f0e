package interpod

import (
	"maps"
	"math"

	corev1 "k8s.io/api/core/v1"
)

// affinityTerm is one of the incoming pod's pod (anti-)affinity terms,
// compiled once per cycle.
type affinityTerm struct {
	sel        selector
	namespaces []string // explicit namespaces; the pod's own when implied
	nsSel      selector // compiled namespaceSelector; nothing when nil
	key        string
	weight     int64
}

// matches reports whether p is selected by the term (namespace and labels).
func (t *affinityTerm) matches(p *corev1.Pod, nsLabels NamespaceLabeler) bool {
	if !contains(t.namespaces, p.Namespace) && !t.nsSelMatches(p.Namespace, nsLabels) {
		return false
	}
	return t.sel.matches(p.Labels)
}

func (t *affinityTerm) nsSelMatches(ns string, nsLabels NamespaceLabeler) bool {
	if t.nsSel.nothing {
		return false
	}
	if t.nsSel.empty() {
		return true
	}
	if nsLabels == nil {
		return false
	}
	lbls, ok := nsLabels(ns)
	return ok && t.nsSel.matches(lbls)
}

func compileAffinityTerm(pod *corev1.Pod, t *corev1.PodAffinityTerm, weight int32) affinityTerm {
	at := affinityTerm{
		sel:    compileSelector(t.LabelSelector, pod.Labels, t.MatchLabelKeys, t.MismatchLabelKeys),
		nsSel:  compileSelector(t.NamespaceSelector, nil, nil, nil),
		key:    t.TopologyKey,
		weight: int64(weight),
	}
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		at.namespaces = []string{pod.Namespace}
	} else {
		at.namespaces = t.Namespaces
	}
	return at
}

func compileTerms(pod *corev1.Pod, terms []corev1.PodAffinityTerm) []affinityTerm {
	out := make([]affinityTerm, len(terms))
	for i := range terms {
		out[i] = compileAffinityTerm(pod, &terms[i], 0)
	}
	return out
}

func compileWeighted(pod *corev1.Pod, terms []corev1.WeightedPodAffinityTerm) []affinityTerm {
	out := make([]affinityTerm, len(terms))
	for i := range terms {
		out[i] = compileAffinityTerm(pod, &terms[i].PodAffinityTerm, terms[i].Weight)
	}
	return out
}

// existingTermMatches reports whether an existing pod's term (owned by
// owner) selects the incoming pod, whose namespace has labels podNSLabels.
func existingTermMatches(owner *corev1.Pod, t *corev1.PodAffinityTerm, pod *corev1.Pod, podNSLabels map[string]string) bool {
	nsOK := false
	if len(t.Namespaces) == 0 && t.NamespaceSelector == nil {
		nsOK = owner.Namespace == pod.Namespace
	} else {
		nsOK = contains(t.Namespaces, pod.Namespace) ||
			(t.NamespaceSelector != nil && matchesLabelSelector(t.NamespaceSelector, podNSLabels, nil, nil, nil))
	}
	return nsOK && matchesLabelSelector(t.LabelSelector, pod.Labels, owner.Labels, t.MatchLabelKeys, t.MismatchLabelKeys)
}

// AffinityState is what PreFilterAffinity precomputes once per pod per
// scheduling cycle, so Filter and Score answer per node with a few map
// lookups instead of rescanning the cluster's pods.
//
// Filter, Score and the read-only methods are safe for concurrent use;
// AddPod and RemovePod are not, and are meant for a Clone owned by one
// preemption evaluation.
type AffinityState struct {
	pod      *corev1.Pod
	nsLabels NamespaceLabeler
	// podNSLabels are the incoming pod's namespace labels, against which
	// existing pods' namespaceSelectors are evaluated.
	podNSLabels map[string]string
	hardWeight  int64

	affinity, antiAffinity         []affinityTerm // required terms
	prefAffinity, prefAntiAffinity []affinityTerm // preferred terms

	// existingAnti counts existing pods' required anti-affinity terms that
	// match the incoming pod, per topology domain of the existing pod.
	existingAnti pairCounts
	// existingBlocked and antiBlocked are existingAnti and antiCounts
	// regrouped by topology key (value sets with a positive count), so
	// Filter does one label lookup and one string-keyed lookup per key
	// instead of walking every node label or hashing pairs.
	existingBlocked []blockedKey
	antiBlocked     []blockedKey
	// affinityCounts counts existing pods matching all required affinity
	// terms; antiCounts existing pods matching each anti-affinity term.
	affinityCounts, antiCounts pairCounts
	// topoScore is the preferred-term score per topology key and value.
	topoScore map[string]map[string]int64
}

// PreFilterAffinity builds the affinity state of pod over all nodes with
// default Options.
func PreFilterAffinity(pod *corev1.Pod, nodes []Node) (*AffinityState, error) {
	return PreFilterAffinityWith(pod, nodes, Options{})
}

// PreFilterAffinityWith builds the affinity state of pod over all nodes in
// one parallel pass over their pods. It never fails today; the error is part
// of the plugin contract for selectors that cannot be evaluated.
func PreFilterAffinityWith(pod *corev1.Pod, nodes []Node, opts Options) (*AffinityState, error) {
	s := &AffinityState{
		pod:            pod,
		nsLabels:       opts.NamespaceLabels,
		hardWeight:     int64(opts.hardWeight()),
		existingAnti:   pairCounts{},
		affinityCounts: pairCounts{},
		antiCounts:     pairCounts{},
		topoScore:      map[string]map[string]int64{},
	}
	if opts.NamespaceLabels != nil {
		s.podNSLabels, _ = opts.NamespaceLabels(pod.Namespace)
	}
	if a := pod.Spec.Affinity; a != nil {
		if pa := a.PodAffinity; pa != nil {
			s.affinity = compileTerms(pod, pa.RequiredDuringSchedulingIgnoredDuringExecution)
			s.prefAffinity = compileWeighted(pod, pa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
		if paa := a.PodAntiAffinity; paa != nil {
			s.antiAffinity = compileTerms(pod, paa.RequiredDuringSchedulingIgnoredDuringExecution)
			s.prefAntiAffinity = compileWeighted(pod, paa.PreferredDuringSchedulingIgnoredDuringExecution)
		}
	}

	if idx := opts.Index; idx != nil {
		idx.mu.Lock()
		defer idx.mu.Unlock()
		idx.sync(nodes, opts.Changes)
		s.fromIndex(idx)
		s.refreshKeys()
		return s, nil
	}
	workers := workersFor(len(nodes), opts.Parallelism)
	locals := make([]*AffinityState, workers)
	for w := range locals {
		if w == 0 {
			locals[w] = s
			continue
		}
		locals[w] = &AffinityState{
			existingAnti: pairCounts{}, affinityCounts: pairCounts{}, antiCounts: pairCounts{},
			topoScore: map[string]map[string]int64{},
		}
	}
	parallelize(len(nodes), workers, func(w, start, end int) {
		l := locals[w]
		for i := start; i < end; i++ {
			node := nodes[i].Node()
			if node == nil {
				continue
			}
			for _, p := range nodes[i].Pods() {
				s.accountPod(l, p, node.Labels, 1)
			}
		}
	})
	for _, l := range locals[1:] {
		s.existingAnti.merge(l.existingAnti)
		s.affinityCounts.merge(l.affinityCounts)
		s.antiCounts.merge(l.antiCounts)
		for k, vals := range l.topoScore {
			dst := s.topoScore[k]
			if dst == nil {
				s.topoScore[k] = vals
				continue
			}
			for v, n := range vals {
				dst[v] += n
			}
		}
	}
	s.refreshKeys()
	return s, nil
}

// fromIndex fills the counters from idx: one evaluation per group of
// identical existing terms, and only candidate pods for the incoming terms.
// Caller holds idx.mu.
func (s *AffinityState) fromIndex(idx *Index) {
	pod := s.pod
	for _, g := range idx.anti {
		if len(g.counts) > 0 && existingTermMatches(g.owner, g.term, pod, s.podNSLabels) {
			if len(s.existingAnti) == 0 {
				s.existingAnti = maps.Clone(g.counts)
				continue
			}
			s.existingAnti.merge(g.counts)
		}
	}
	for _, g := range idx.score {
		w := g.weight
		if g.hard {
			w = s.hardWeight
		}
		if w == 0 || len(g.counts) == 0 || !existingTermMatches(g.owner, g.term, pod, s.podNSLabels) {
			continue
		}
		for p, n := range g.counts {
			s.addScorePair(p, w*n)
		}
	}
	if len(s.affinity) > 0 {
		t0 := &s.affinity[0]
		idx.eachNamespace(t0, s.nsLabels, func(ns string) {
			idx.eachCandidate(ns, &t0.sel, func(e *podEntry, exact bool) {
				if (exact && len(s.affinity) == 1) || matchesAll(s.affinity, e.pod, s.nsLabels) {
					for i := range s.affinity {
						s.affinityCounts.add(e.node.Labels, s.affinity[i].key, 1)
					}
				}
			})
		})
	}
	for i := range s.antiAffinity {
		t := &s.antiAffinity[i]
		idx.eachNamespace(t, s.nsLabels, func(ns string) {
			idx.eachCandidate(ns, &t.sel, func(e *podEntry, exact bool) {
				// eachNamespace already matched the namespace.
				if exact || t.sel.matches(e.pod.Labels) {
					s.antiCounts.add(e.node.Labels, t.key, 1)
				}
			})
		})
	}
	for _, pref := range []struct {
		terms []affinityTerm
		sign  int64
	}{{s.prefAffinity, 1}, {s.prefAntiAffinity, -1}} {
		for i := range pref.terms {
			t := &pref.terms[i]
			idx.eachNamespace(t, s.nsLabels, func(ns string) {
				idx.eachCandidate(ns, &t.sel, func(e *podEntry, exact bool) {
					if exact || t.sel.matches(e.pod.Labels) {
						s.addScore(e.node.Labels, t.key, pref.sign*t.weight)
					}
				})
			})
		}
	}
}

// blockedKey is the set of values of one topology key whose domains block
// the pod.
type blockedKey struct {
	key    string
	values map[string]struct{}
}

func (s *AffinityState) refreshKeys() {
	s.existingBlocked = groupBlocked(s.existingAnti)
	s.antiBlocked = groupBlocked(s.antiCounts)
}

func groupBlocked(m pairCounts) []blockedKey {
	var out []blockedKey
next:
	for p, n := range m {
		if n <= 0 {
			continue
		}
		for i := range out {
			if out[i].key == p.key {
				out[i].values[p.value] = struct{}{}
				continue next
			}
		}
		vals := make(map[string]struct{}, len(m))
		vals[p.value] = struct{}{}
		out = append(out, blockedKey{key: p.key, values: vals})
	}
	return out
}

func blocked(keys []blockedKey, nodeLabels map[string]string) bool {
	for i := range keys {
		if v, ok := nodeLabels[keys[i].key]; ok {
			if _, hit := keys[i].values[v]; hit {
				return true
			}
		}
	}
	return false
}

// accountPod adds (delta 1) or removes (delta -1) existing pod p on a node
// with nodeLabels to the counters in dst, using s's terms. dst is s itself
// or a worker-local state.
func (s *AffinityState) accountPod(dst *AffinityState, p *corev1.Pod, nodeLabels map[string]string, delta int64) {
	if len(nodeLabels) == 0 {
		return
	}
	pod := s.pod
	if a := p.Spec.Affinity; a != nil {
		if paa := a.PodAntiAffinity; paa != nil {
			for i := range paa.RequiredDuringSchedulingIgnoredDuringExecution {
				t := &paa.RequiredDuringSchedulingIgnoredDuringExecution[i]
				if existingTermMatches(p, t, pod, s.podNSLabels) {
					dst.existingAnti.add(nodeLabels, t.TopologyKey, delta)
				}
			}
			for i := range paa.PreferredDuringSchedulingIgnoredDuringExecution {
				t := &paa.PreferredDuringSchedulingIgnoredDuringExecution[i]
				if existingTermMatches(p, &t.PodAffinityTerm, pod, s.podNSLabels) {
					dst.addScore(nodeLabels, t.PodAffinityTerm.TopologyKey, -int64(t.Weight)*delta)
				}
			}
		}
		if pa := a.PodAffinity; pa != nil {
			if s.hardWeight > 0 {
				for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
					t := &pa.RequiredDuringSchedulingIgnoredDuringExecution[i]
					if existingTermMatches(p, t, pod, s.podNSLabels) {
						dst.addScore(nodeLabels, t.TopologyKey, s.hardWeight*delta)
					}
				}
			}
			for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
				t := &pa.PreferredDuringSchedulingIgnoredDuringExecution[i]
				if existingTermMatches(p, &t.PodAffinityTerm, pod, s.podNSLabels) {
					dst.addScore(nodeLabels, t.PodAffinityTerm.TopologyKey, int64(t.Weight)*delta)
				}
			}
		}
	}
	if len(s.affinity) > 0 && matchesAll(s.affinity, p, s.nsLabels) {
		for i := range s.affinity {
			dst.affinityCounts.add(nodeLabels, s.affinity[i].key, delta)
		}
	}
	for i := range s.antiAffinity {
		if s.antiAffinity[i].matches(p, s.nsLabels) {
			dst.antiCounts.add(nodeLabels, s.antiAffinity[i].key, delta)
		}
	}
	for i := range s.prefAffinity {
		if t := &s.prefAffinity[i]; t.matches(p, s.nsLabels) {
			dst.addScore(nodeLabels, t.key, t.weight*delta)
		}
	}
	for i := range s.prefAntiAffinity {
		if t := &s.prefAntiAffinity[i]; t.matches(p, s.nsLabels) {
			dst.addScore(nodeLabels, t.key, -t.weight*delta)
		}
	}
}

func (s *AffinityState) addScore(nodeLabels map[string]string, key string, n int64) {
	if v, ok := nodeLabels[key]; ok {
		s.addScorePair(topologyPair{key, v}, n)
	}
}

func (s *AffinityState) addScorePair(p topologyPair, n int64) {
	m := s.topoScore[p.key]
	if m == nil {
		m = map[string]int64{}
		s.topoScore[p.key] = m
	}
	m[p.value] += n
}

// matchesAll reports whether p matches every term; false for no terms.
func matchesAll(terms []affinityTerm, p *corev1.Pod, nsLabels NamespaceLabeler) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].matches(p, nsLabels) {
			return false
		}
	}
	return true
}

// Filter reports whether pod may run on node, and if not, the upstream
// reason. Affinity is checked before the pod's own anti-affinity, then
// existing pods' anti-affinity, as upstream.
func (s *AffinityState) Filter(pod *corev1.Pod, node Node) (ok bool, reason string) {
	n := node.Node()
	if n == nil {
		return false, "node not found"
	}
	if !s.satisfiesAffinity(n.Labels) {
		return false, ReasonAffinityRulesNotMatch
	}
	if blocked(s.antiBlocked, n.Labels) {
		return false, ReasonAntiAffinityRulesNotMatch
	}
	// Upstream walks every label of the node; only keys that occur in the
	// counts can match, so look those up instead.
	if blocked(s.existingBlocked, n.Labels) {
		return false, ReasonExistingAntiAffinityRulesNotMatch
	}
	return true, ""
}

func (s *AffinityState) satisfiesAffinity(nodeLabels map[string]string) bool {
	podsExist := true
	for i := range s.affinity {
		v, ok := nodeLabels[s.affinity[i].key]
		if !ok {
			// All topology labels must exist on the node.
			return false
		}
		if s.affinityCounts[topologyPair{s.affinity[i].key, v}] <= 0 {
			podsExist = false
		}
	}
	if podsExist {
		return true
	}
	// The first pod of a group with affinity to itself: no pod anywhere
	// matches the terms, but the pod matches its own terms.
	return len(s.affinityCounts) == 0 && matchesAll(s.affinity, s.pod, s.nsLabels)
}

// Score is the raw preferred-term score of node: the sum of weights of the
// incoming pod's preferred terms (negative for anti-affinity) and existing
// pods' terms matching it, over node's topology domains.
func (s *AffinityState) Score(pod *corev1.Pod, node Node) int64 {
	n := node.Node()
	if n == nil {
		return 0
	}
	var score int64
	for key, vals := range s.topoScore {
		if v, ok := n.Labels[key]; ok {
			score += vals[v]
		}
	}
	return score
}

// Clone returns a copy whose counters AddPod/RemovePod can change without
// affecting s.
func (s *AffinityState) Clone() *AffinityState {
	c := *s
	c.existingAnti = pairCounts{}
	c.existingAnti.merge(s.existingAnti)
	c.affinityCounts = pairCounts{}
	c.affinityCounts.merge(s.affinityCounts)
	c.antiCounts = pairCounts{}
	c.antiCounts.merge(s.antiCounts)
	c.refreshKeys()
	c.topoScore = make(map[string]map[string]int64, len(s.topoScore))
	for k, vals := range s.topoScore {
		m := make(map[string]int64, len(vals))
		for v, n := range vals {
			m[v] = n
		}
		c.topoScore[k] = m
	}
	return &c
}

// AddPod updates the state as if p were running on node (preemption
// what-ifs: re-adding lower priority victims that may stay).
func (s *AffinityState) AddPod(p *corev1.Pod, node Node) {
	if n := node.Node(); n != nil {
		s.accountPod(s, p, n.Labels, 1)
		s.refreshKeys()
	}
}

// RemovePod updates the state as if p were no longer running on node
// (preemption what-ifs: evicting a victim).
func (s *AffinityState) RemovePod(p *corev1.Pod, node Node) {
	if n := node.Node(); n != nil {
		s.accountPod(s, p, n.Labels, -1)
		s.refreshKeys()
	}
}

// NormalizeAffinityScores rescales raw scores in place to 0..MaxNodeScore
// linearly between the minimum and maximum, as upstream; all equal gives 0.
func NormalizeAffinityScores(scores []int64) {
	if len(scores) == 0 {
		return
	}
	minS, maxS := int64(math.MaxInt64), int64(math.MinInt64)
	for _, v := range scores {
		minS = min(minS, v)
		maxS = max(maxS, v)
	}
	diff := maxS - minS
	for i, v := range scores {
		f := float64(0)
		if diff > 0 {
			f = float64(MaxNodeScore) * (float64(v-minS) / float64(diff))
		}
		scores[i] = int64(f)
	}
}
