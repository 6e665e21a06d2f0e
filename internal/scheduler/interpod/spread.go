package interpod

import (
	"maps"
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// System default constraints upstream applies to pods without their own.
const (
	defaultZoneMaxSkew     = 5
	defaultHostnameMaxSkew = 3
)

// IgnoredScore is what SpreadState.Score returns for a node the plugin does
// not score (missing topology labels, or no ScheduleAnyway constraints);
// NormalizeSpreadScores turns it into 0.
const IgnoredScore int64 = -1

// spreadConstraint is one compiled topology spread constraint.
type spreadConstraint struct {
	maxSkew     int64
	key         string
	minDomains  int64
	sel         selector
	selID       int   // index of sel among the state's distinct selectors
	self        int64 // 1 if the incoming pod matches sel, else 0
	honorAff    bool  // nodeAffinityPolicy Honor (default)
	honorTaints bool  // nodeTaintsPolicy Honor (default Ignore)
	perNode     bool  // key is kubernetes.io/hostname: one domain per node
}

// domainCounts are one constraint's matching pod counts per domain.
type domainCounts struct {
	counts  map[string]int64 // domain value -> matches, nonzero only
	values  map[string]struct{}
	domains int64 // distinct eligible domains
	min     int64 // global minimum over eligible domains (hard constraints)
}

// SpreadState is what PreFilterSpread precomputes once per pod per cycle:
// matching pod counts per topology domain for DoNotSchedule constraints
// (Filter) and ScheduleAnyway constraints (Score).
//
// Filter and Score are safe for concurrent use; PreScore, AddPod and
// RemovePod are not.
type SpreadState struct {
	pod        *corev1.Pod
	hard       []spreadConstraint
	soft       []spreadConstraint
	sels       []selector
	na         nodeAffinity
	hardDoms   []domainCounts
	softDoms   []domainCounts
	weights    []float64 // per soft constraint, log(domains+2)
	requireAll bool      // soft: ignore nodes missing a key (pod's own constraints)
	// nodeCounts, when an Index was used, are the matches per node for each
	// distinct selector, so Score need not rescan a node's pods.
	nodeCounts []map[*corev1.Node]int64
}

// PreFilterSpread builds the topology spread state of pod over all nodes with
// default Options.
func PreFilterSpread(pod *corev1.Pod, nodes []Node) (*SpreadState, error) {
	return PreFilterSpreadWith(pod, nodes, Options{})
}

// PreFilterSpreadWith builds the topology spread state of pod over all nodes
// in one parallel pass, counting each node's matching pods once per distinct
// selector. The error is part of the plugin contract; none occur today.
func PreFilterSpreadWith(pod *corev1.Pod, nodes []Node, opts Options) (*SpreadState, error) {
	s := &SpreadState{pod: pod, na: requiredNodeAffinity(pod)}
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		s.requireAll = true
		for i := range pod.Spec.TopologySpreadConstraints {
			c := &pod.Spec.TopologySpreadConstraints[i]
			sc := s.compile(c.MaxSkew, c.TopologyKey, compileSelector(c.LabelSelector, pod.Labels, c.MatchLabelKeys, nil), c.NodeAffinityPolicy, c.NodeTaintsPolicy)
			if c.WhenUnsatisfiable == corev1.ScheduleAnyway {
				s.soft = append(s.soft, sc)
				continue
			}
			if c.MinDomains != nil {
				sc.minDomains = int64(*c.MinDomains)
			}
			s.hard = append(s.hard, sc)
		}
	} else if !opts.DisableDefaultSpread {
		pick := opts.DefaultSpreadSelector
		if pick == nil {
			pick = DefaultOwnerSelector
		}
		if ls := pick(pod); ls != nil {
			sel := compileSelector(ls, nil, nil, nil)
			if !sel.empty() {
				s.soft = append(s.soft,
					s.compile(defaultZoneMaxSkew, corev1.LabelTopologyZone, sel, nil, nil),
					s.compile(defaultHostnameMaxSkew, corev1.LabelHostname, sel, nil, nil))
			}
		}
	}
	if len(s.hard) == 0 && len(s.soft) == 0 {
		return s, nil
	}
	s.count(nodes, opts.Parallelism, opts.Index, opts.Changes)
	return s, nil
}

// compile builds a constraint and interns its selector.
func (s *SpreadState) compile(maxSkew int32, key string, sel selector, aff, taints *corev1.NodeInclusionPolicy) spreadConstraint {
	sc := spreadConstraint{
		maxSkew:     int64(maxSkew),
		key:         key,
		minDomains:  1,
		sel:         sel,
		honorAff:    aff == nil || *aff == corev1.NodeInclusionPolicyHonor,
		honorTaints: taints != nil && *taints == corev1.NodeInclusionPolicyHonor,
		perNode:     key == corev1.LabelHostname,
		selID:       -1,
	}
	if sel.matches(s.pod.Labels) {
		sc.self = 1
	}
	for i := range s.sels {
		if s.sels[i].equal(&sel) {
			sc.selID = i
		}
	}
	if sc.selID < 0 {
		sc.selID = len(s.sels)
		s.sels = append(s.sels, sel)
	}
	return sc
}

// DefaultOwnerSelector approximates upstream's default spreading selector
// (the merged selectors of Services, ReplicationControllers, ReplicaSets and
// StatefulSets selecting the pod) without listers: for a pod controlled by a
// ReplicaSet, ReplicationController or StatefulSet it selects the pod's own
// labels minus the ones that differ per pod of a StatefulSet.
func DefaultOwnerSelector(pod *corev1.Pod) *metav1.LabelSelector {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return nil
	}
	switch ref.Kind {
	case "ReplicaSet", "ReplicationController", "StatefulSet":
	default:
		return nil
	}
	ml := make(map[string]string, len(pod.Labels))
	for k, v := range pod.Labels {
		switch k {
		case "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index":
			continue
		}
		ml[k] = v
	}
	if len(ml) == 0 {
		return nil
	}
	return &metav1.LabelSelector{MatchLabels: ml}
}

func hasAllKeys(lbls map[string]string, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := lbls[cs[i].key]; !ok {
			return false
		}
	}
	return true
}

func newDomainCounts(n int) []domainCounts {
	d := make([]domainCounts, n)
	for i := range d {
		d[i] = domainCounts{counts: map[string]int64{}, values: map[string]struct{}{}}
	}
	return d
}

// count scans nodes once and fills hardDoms, softDoms and weights.
func (s *SpreadState) count(nodes []Node, parallelism int, idx *Index, log ChangeLog) {
	needAff := false
	needTaints := false
	for _, cs := range [][]spreadConstraint{s.hard, s.soft} {
		for i := range cs {
			needAff = needAff || cs[i].honorAff
			needTaints = needTaints || cs[i].honorTaints
		}
	}
	// Honoring node affinity only excludes nodes when the pod has some.
	needAff = needAff && (len(s.na.nodeSelector) > 0 || s.na.hasTerms)
	workers := workersFor(len(nodes), parallelism)
	type local struct{ hard, soft []domainCounts }
	locals := make([]local, workers)
	for w := range locals {
		locals[w] = local{hard: newDomainCounts(len(s.hard)), soft: newDomainCounts(len(s.soft))}
	}
	// With an index, per-node match counts come from the candidates of each
	// selector's posting list instead of every pod of every node.
	var perNode []map[*corev1.Node]int64
	if idx != nil {
		idx.mu.Lock()
		idx.sync(nodes, log)
		perNode = make([]map[*corev1.Node]int64, len(s.sels))
		live := make([]*selCounts, len(s.sels))
		for i := range s.sels {
			sel := &s.sels[i]
			if sel.empty() {
				perNode[i] = map[*corev1.Node]int64{}
				continue
			}
			if sc := idx.selectorCounts(s.pod.Namespace, sel); sc != nil {
				live[i] = sc
				perNode[i] = maps.Clone(sc.nodes)
				continue
			}
			m := map[*corev1.Node]int64{}
			idx.eachCandidate(s.pod.Namespace, sel, func(e *podEntry, exact bool) {
				if e.pod.DeletionTimestamp == nil && (exact || sel.matches(e.pod.Labels)) {
					m[e.node]++
				}
			})
			perNode[i] = m
		}
		s.nodeCounts = perNode
		// When no inclusion policy excludes nodes, domains depend only on
		// the node set, which the index caches: no per-node loop at all.
		// A nodeSelector (no required affinity terms) narrows the eligible
		// nodes to a set the index caches per selector, so it takes the
		// same path; affinity terms and taint policies walk the nodes.
		if !needTaints && (!needAff || !s.na.hasTerms) {
			var elig *eligibleNodes
			if needAff {
				elig = idx.eligible(s.na.nodeSelector)
			}
			s.countFromIndex(idx, perNode, live, elig, locals[0].hard, locals[0].soft)
			idx.mu.Unlock()
			workers = 1
			nodes = nil
		} else {
			idx.mu.Unlock()
		}
	}
	parallelize(len(nodes), workers, func(w, start, end int) {
		l := &locals[w]
		cnt := make([]int64, len(s.sels))
		for i := start; i < end; i++ {
			node := nodes[i].Node()
			if node == nil {
				continue
			}
			hardOK := len(s.hard) > 0 && hasAllKeys(node.Labels, s.hard)
			softOK := len(s.soft) > 0 && (!s.requireAll || hasAllKeys(node.Labels, s.soft))
			if !hardOK && !softOK {
				continue
			}
			affOK := !needAff || s.na.matches(node)
			taintOK := !needTaints || !hasUntoleratedScheduleTaint(node, s.pod.Spec.Tolerations)
			if perNode != nil {
				for j := range perNode {
					cnt[j] = perNode[j][node]
				}
			} else {
				s.countNode(nodes[i].Pods(), cnt)
			}
			if hardOK {
				for c := range s.hard {
					s.hard[c].account(&l.hard[c], node, cnt, affOK, taintOK, true)
				}
			}
			if softOK {
				for c := range s.soft {
					// Domains for the score weight exist regardless of
					// inclusion policies, as upstream derives them from the
					// nodes being scored. Per-node counts are taken in Score.
					if s.soft[c].perNode {
						l.soft[c].domains++
						continue
					}
					s.soft[c].account(&l.soft[c], node, cnt, affOK, taintOK, false)
					v := node.Labels[s.soft[c].key]
					if _, seen := l.soft[c].values[v]; !seen {
						l.soft[c].values[v] = struct{}{}
					}
				}
			}
		}
	})
	s.hardDoms, s.softDoms = locals[0].hard, locals[0].soft
	for _, l := range locals[1:] {
		mergeDomains(s.hardDoms, l.hard)
		mergeDomains(s.softDoms, l.soft)
	}
	for c := range s.hard {
		d := &s.hardDoms[c]
		if !s.hard[c].perNode {
			d.domains = int64(len(d.values))
		}
		d.recomputeMin(s.hard[c].minDomains)
	}
	s.weights = make([]float64, len(s.soft))
	for c := range s.soft {
		d := &s.softDoms[c]
		if !s.soft[c].perNode {
			d.domains = int64(len(d.values))
		}
		s.weights[c] = math.Log(float64(d.domains + 2))
	}
}

// countFromIndex fills hard and soft from per-node match counts and the
// index's cached domains, for pods whose constraints exclude no node by
// taint policy and, by node affinity policy, at most the nodes outside elig
// (nil: none). A constraint over a domain key (zone, region) whose selector
// has live counts reads them per domain, unless some node lacks a key the
// constraint requires or elig applies, which only a walk of the matching
// nodes can honour. Caller holds idx.mu.
func (s *SpreadState) countFromIndex(idx *Index, perNode []map[*corev1.Node]int64, live []*selCounts, elig *eligibleNodes, hard, soft []domainCounts) {
	hardKeys := constraintKeys(s.hard)
	var softReq []string
	if s.requireAll {
		softReq = constraintKeys(s.soft)
	}
	hd := idx.domains(hardKeys, hardKeys)
	sd := idx.domains(softReq, constraintKeys(s.soft))
	for c := range s.hard {
		dom, e := hd, (*eligibleNodes)(nil)
		if elig != nil && s.hard[c].honorAff {
			dom, e = idx.eligibleDomains(elig, hardKeys, hardKeys), elig
		}
		s.hard[c].fromCounts(idx, &hard[c], dom, perNode, live, e, hardKeys, c)
	}
	for c := range s.soft {
		if s.soft[c].perNode {
			soft[c].domains = sd.nodes
			continue
		}
		var e *eligibleNodes
		if s.soft[c].honorAff {
			e = elig
		}
		s.soft[c].fromCounts(idx, &soft[c], sd, perNode, live, e, softReq, c)
	}
}

// fromCounts fills d for constraint c: domains from dom, counts from the
// selector's live per-domain counts or by walking its matching nodes,
// skipping nodes outside elig when elig is set.
func (c *spreadConstraint) fromCounts(idx *Index, d *domainCounts, dom *domainSet, perNode []map[*corev1.Node]int64, live []*selCounts, elig *eligibleNodes, required []string, i int) {
	if !c.perNode {
		d.values = dom.values[i]
		if sc := live[c.selID]; sc != nil && elig == nil && dom.nodes == dom.all {
			idx.trackDomain(c.key)
			for p, n := range sc.doms {
				if p.key == c.key {
					d.counts[p.value] = n
				}
			}
			return
		}
	}
	for node, n := range perNode[c.selID] {
		if n <= 0 || !hasKeys(node.Labels, required) {
			continue
		}
		if elig != nil {
			if _, ok := elig.nodes[node]; !ok {
				continue
			}
		}
		d.counts[node.Labels[c.key]] += n
	}
	if c.perNode {
		d.domains = dom.nodes
	}
}

func constraintKeys(cs []spreadConstraint) []string {
	keys := make([]string, len(cs))
	for i := range cs {
		keys[i] = cs[i].key
	}
	return keys
}

func hasKeys(lbls map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := lbls[k]; !ok {
			return false
		}
	}
	return true
}

// countNode sets cnt[i] to the number of pods matching distinct selector i:
// same namespace as the incoming pod, not terminating. An empty selector
// counts nothing, as upstream.
func (s *SpreadState) countNode(pods []*corev1.Pod, cnt []int64) {
	clear(cnt)
	for _, p := range pods {
		if p.DeletionTimestamp != nil || p.Namespace != s.pod.Namespace {
			continue
		}
		for i := range s.sels {
			if !s.sels[i].empty() && s.sels[i].matches(p.Labels) {
				cnt[i]++
			}
		}
	}
}

// account adds a node's counts to d if the node passes c's inclusion
// policies. For per-node keys, domains counts eligible nodes (hostnames are
// assumed unique); otherwise values collects them.
func (c *spreadConstraint) account(d *domainCounts, node *corev1.Node, cnt []int64, affOK, taintOK, trackDomains bool) {
	if (c.honorAff && !affOK) || (c.honorTaints && !taintOK) {
		return
	}
	v := node.Labels[c.key]
	if n := cnt[c.selID]; n > 0 {
		d.counts[v] += n
	}
	if !trackDomains {
		return
	}
	if c.perNode {
		d.domains++
	} else if _, seen := d.values[v]; !seen {
		d.values[v] = struct{}{}
	}
}

func mergeDomains(dst, src []domainCounts) {
	for i := range dst {
		for v, n := range src[i].counts {
			dst[i].counts[v] += n
		}
		for v := range src[i].values {
			dst[i].values[v] = struct{}{}
		}
		dst[i].domains += src[i].domains
	}
}

// recomputeMin sets the global minimum: 0 when some eligible domain has no
// match or there are fewer domains than minDomains.
func (d *domainCounts) recomputeMin(minDomains int64) {
	if d.domains < minDomains || int64(len(d.counts)) < d.domains {
		d.min = 0
		return
	}
	d.min = math.MaxInt64
	for _, n := range d.counts {
		d.min = min(d.min, n)
	}
	if len(d.counts) == 0 {
		d.min = 0
	}
}

// Filter reports whether placing pod on node keeps every DoNotSchedule
// constraint's skew within maxSkew:
// matches in node's domain + (1 if pod matches itself) - global min <= maxSkew.
func (s *SpreadState) Filter(pod *corev1.Pod, node Node) (ok bool, reason string) {
	if len(s.hard) == 0 {
		return true, ""
	}
	n := node.Node()
	if n == nil {
		return false, "node not found"
	}
	for i := range s.hard {
		c := &s.hard[i]
		v, ok := n.Labels[c.key]
		if !ok {
			return false, ReasonSpreadMissingLabel
		}
		if s.hardDoms[i].counts[v]+c.self-s.hardDoms[i].min > c.maxSkew {
			return false, ReasonSpreadConstraintsNotMatch
		}
	}
	return true, ""
}

// PreScore recomputes the score weights from the nodes that passed
// filtering, as upstream does; without it Score weighs domains over all
// nodes. Call it before Score, not concurrently with it.
func (s *SpreadState) PreScore(filtered []Node) {
	if len(s.soft) == 0 {
		return
	}
	sizes := make([]int64, len(s.soft))
	values := make([]map[string]struct{}, len(s.soft))
	for _, fn := range filtered {
		n := fn.Node()
		if n == nil || (s.requireAll && !hasAllKeys(n.Labels, s.soft)) {
			continue
		}
		for c := range s.soft {
			if s.soft[c].perNode {
				sizes[c]++
				continue
			}
			if values[c] == nil {
				values[c] = map[string]struct{}{}
			}
			values[c][n.Labels[s.soft[c].key]] = struct{}{}
		}
	}
	for c := range s.soft {
		if !s.soft[c].perNode {
			sizes[c] = int64(len(values[c]))
		}
		s.weights[c] = math.Log(float64(sizes[c] + 2))
	}
}

// Score is node's raw spreading score: for each ScheduleAnyway constraint,
// matches in node's domain times log(domains+2) plus maxSkew-1, rounded.
// Lower is better; NormalizeSpreadScores inverts it. Nodes not scored get
// IgnoredScore.
func (s *SpreadState) Score(pod *corev1.Pod, node Node) int64 {
	n := node.Node()
	if len(s.soft) == 0 || n == nil || (s.requireAll && !hasAllKeys(n.Labels, s.soft)) {
		return IgnoredScore
	}
	var score float64
	for i := range s.soft {
		c := &s.soft[i]
		v, ok := n.Labels[c.key]
		if !ok {
			continue
		}
		var cnt int64
		if c.perNode && s.nodeCounts != nil {
			cnt = s.nodeCounts[c.selID][n]
		} else if c.perNode {
			for _, p := range node.Pods() {
				if p.DeletionTimestamp == nil && p.Namespace == pod.Namespace && !c.sel.empty() && c.sel.matches(p.Labels) {
					cnt++
				}
			}
		} else {
			cnt = s.softDoms[i].counts[v]
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score))
}

// Clone returns a copy whose DoNotSchedule counts AddPod/RemovePod can change
// without affecting s.
func (s *SpreadState) Clone() *SpreadState {
	c := *s
	c.hardDoms = make([]domainCounts, len(s.hardDoms))
	for i, d := range s.hardDoms {
		nd := d
		nd.counts = make(map[string]int64, len(d.counts))
		for v, n := range d.counts {
			nd.counts[v] = n
		}
		nd.values = make(map[string]struct{}, len(d.values))
		for v := range d.values {
			nd.values[v] = struct{}{}
		}
		c.hardDoms[i] = nd
	}
	return &c
}

// AddPod updates the DoNotSchedule counts as if p were running on node.
func (s *SpreadState) AddPod(p *corev1.Pod, node Node) { s.update(p, node, 1) }

// RemovePod updates the DoNotSchedule counts as if p were gone from node.
func (s *SpreadState) RemovePod(p *corev1.Pod, node Node) { s.update(p, node, -1) }

func (s *SpreadState) update(p *corev1.Pod, node Node, delta int64) {
	n := node.Node()
	if len(s.hard) == 0 || n == nil || p.Namespace != s.pod.Namespace || !hasAllKeys(n.Labels, s.hard) {
		return
	}
	affOK := s.na.matches(n)
	taintOK := !hasUntoleratedScheduleTaint(n, s.pod.Spec.Tolerations)
	for i := range s.hard {
		c := &s.hard[i]
		if !c.sel.matches(p.Labels) || (c.honorAff && !affOK) || (c.honorTaints && !taintOK) {
			continue
		}
		d := &s.hardDoms[i]
		v := n.Labels[c.key]
		if _, seen := d.values[v]; !seen && !c.perNode {
			// values may be shared with the Index's domain cache: copy
			// before writing.
			vals := make(map[string]struct{}, len(d.values)+1)
			for x := range d.values {
				vals[x] = struct{}{}
			}
			vals[v] = struct{}{}
			d.values = vals
			d.domains++
		}
		if m := d.counts[v] + delta; m <= 0 {
			delete(d.counts, v)
		} else {
			d.counts[v] = m
		}
		d.recomputeMin(c.minDomains)
	}
}

// NormalizeSpreadScores rescales raw scores in place to 0..MaxNodeScore as
// upstream: the fewest matches gets the most, IgnoredScore gets 0, and all
// zero gives every scored node MaxNodeScore.
func NormalizeSpreadScores(scores []int64) {
	minS, maxS := int64(math.MaxInt64), int64(0)
	for _, v := range scores {
		if v == IgnoredScore {
			continue
		}
		minS = min(minS, v)
		maxS = max(maxS, v)
	}
	for i, v := range scores {
		switch {
		case v == IgnoredScore:
			scores[i] = 0
		case maxS == 0:
			scores[i] = MaxNodeScore
		default:
			scores[i] = MaxNodeScore * (maxS + minS - v) / maxS
		}
	}
}
