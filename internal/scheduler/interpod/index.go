package interpod

import (
	"iter"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Index is an optional cache, shared across scheduling cycles, that turns
// PreFilter's scan of every pod in the cluster into lookups: pods are
// indexed by namespace and label, and existing pods' affinity terms are
// grouped by identical term so one evaluation per group replaces one per
// pod. Pass the same Index in Options to every PreFilter of a scheduler.
//
// The Index keeps itself consistent with the nodes it is given: each
// PreFilter diffs the node list against the previous one by position,
// comparing the *corev1.Node pointer and either the Generationer generation
// or, without one, each *corev1.Pod pointer, and re-indexes only nodes that
// changed. That relies on the snapshot never mutating a
// Node or Pod object in place (informer objects are immutable; an update is
// a new pointer). An Index is safe for concurrent use; PreFilters sharing it
// are serialized.
type Index struct {
	mu    sync.Mutex // guards everything below
	slots []slot
	ns    map[string]*nsIndex
	// anti groups existing pods' required anti-affinity terms; score groups
	// existing pods' hard affinity and preferred (anti-)affinity terms.
	anti  map[string]*termGroup
	score map[string]*termGroup
	// nodeGen changes whenever a position's node object changes, which
	// invalidates domainCache (pod changes do not).
	nodeGen     uint64
	domainCache map[string]*domainSet
	// sels holds live counts for the spreading selectors cycles asked
	// about, found by key and, for upkeep, by selPostings; domKeys are the
	// topology keys they count domains for; epoch orders their use.
	sels        map[string]*selCounts
	selPostings map[selPosting][]*selCounts
	domKeys     []string
	epoch       uint64
	eligCache   map[string]*eligibleNodes
	// logVersion and logGen are the node list version and generation of
	// the last sync, valid when logValid, for ChangeLog.ChangesSince.
	logVersion, logGen int64
	logValid           bool
}

// domainSet is the topology domains of the nodes having every required key:
// how many such nodes (of all nodes), and per wanted key the distinct
// values ("" for a node lacking that key). It is shared and must not be
// modified.
type domainSet struct {
	gen    uint64
	nodes  int64
	all    int64
	values []map[string]struct{}
}

// domains returns the cached domainSet for required and wanted keys,
// recomputing it after node changes. Caller holds mu.
func (x *Index) domains(required, wanted []string) *domainSet {
	key := strings.Join(required, "\x00") + "\x01" + strings.Join(wanted, "\x00")
	if d := x.domainCache[key]; d != nil && d.gen == x.nodeGen {
		return d
	}
	d := newDomainSet(x.nodeGen, required, wanted, func(yield func(*corev1.Node) bool) {
		for i := range x.slots {
			if n := x.slots[i].node; n != nil && !yield(n) {
				return
			}
		}
	})
	if x.domainCache == nil {
		x.domainCache = map[string]*domainSet{}
	}
	x.domainCache[key] = d
	return d
}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{ns: map[string]*nsIndex{}, anti: map[string]*termGroup{}, score: map[string]*termGroup{}}
}

// slot is what the index last saw at one position of the node list.
type slot struct {
	gen     int64 // Generation() when the Node implements Generationer
	hasGen  bool
	node    *corev1.Node
	pods    []*corev1.Pod
	entries []*podEntry
}

type podEntry struct {
	pod    *corev1.Pod
	node   *corev1.Node
	groups []*termGroup
}

type labelKV struct{ k, v string }

type nsIndex struct {
	all     map[*podEntry]struct{}
	byLabel map[labelKV]map[*podEntry]struct{}
}

// termGroup aggregates identical terms of existing pods (same namespace,
// term and resolved matchLabelKeys): per topology domain, how many pods on
// nodes in that domain carry the term.
type termGroup struct {
	owner  *corev1.Pod // a representative owner, for namespace and labels
	term   *corev1.PodAffinityTerm
	weight int64 // signed score weight; 0 for required anti-affinity
	hard   bool  // required affinity term: weighted by HardPodAffinityWeight
	pods   int
	counts pairCounts
}

// sync brings the index in line with nodes. With a change log that
// reaches back to the last sync of the same list, only the positions it
// names are compared. Caller holds mu.
func (x *Index) sync(nodes []Node, log ChangeLog) {
	if log != nil && x.logValid && len(nodes) == len(x.slots) {
		if log.ChangesSince(x.logVersion, x.logGen, func(i int) { x.syncAt(i, nodes[i]) }) {
			x.logVersion, x.logGen = log.Current()
			return
		}
	}
	for i, n := range nodes {
		x.syncAt(i, n)
	}
	for i := len(nodes); i < len(x.slots); i++ {
		x.clearSlot(&x.slots[i])
		x.nodeGen++
	}
	x.slots = x.slots[:len(nodes)]
	x.logValid = false
	if log != nil {
		x.logVersion, x.logGen = log.Current()
		x.logValid = true
	}
}

// syncAt brings position i in line with node n. Caller holds mu.
func (x *Index) syncAt(i int, n Node) {
	node := n.Node()
	g, hasGen := n.(Generationer)
	var gen int64
	if hasGen {
		gen = g.Generation()
		if i < len(x.slots) && x.slots[i].hasGen && x.slots[i].node == node && x.slots[i].gen == gen {
			return
		}
	}
	pods := n.Pods()
	if !hasGen && i < len(x.slots) && !x.slots[i].hasGen && x.slots[i].node == node && samePods(x.slots[i].pods, pods) {
		return
	}
	if i < len(x.slots) && node != nil && x.slots[i].node == node {
		// Same node, changed pods: re-index only the positions whose
		// pod changed (a bind appends one, a confirmation swaps one),
		// not every pod on the node.
		sl := &x.slots[i]
		sl.gen, sl.hasGen = gen, hasGen
		x.resync(sl, node, pods)
		if !hasGen {
			sl.pods = append(sl.pods[:0], pods...)
		} else {
			sl.pods = sl.pods[:0]
		}
		return
	}
	if i >= len(x.slots) || x.slots[i].node != node {
		x.nodeGen++
	}
	if i < len(x.slots) {
		x.clearSlot(&x.slots[i])
	} else {
		x.slots = append(x.slots, slot{})
	}
	sl := &x.slots[i]
	sl.node = node
	sl.gen, sl.hasGen = gen, hasGen
	if !hasGen {
		sl.pods = append(sl.pods[:0], pods...)
	}
	if node == nil {
		return
	}
	for _, p := range pods {
		sl.entries = append(sl.entries, x.add(p, node))
	}
}

// resync brings sl's entries, which follow the order of the pods they were
// built from, in line with pods on the same node by position. Caller holds
// mu.
func (x *Index) resync(sl *slot, node *corev1.Node, pods []*corev1.Pod) {
	n := min(len(sl.entries), len(pods))
	for j := range n {
		if sl.entries[j].pod != pods[j] {
			x.remove(sl.entries[j])
			sl.entries[j] = x.add(pods[j], node)
		}
	}
	for _, e := range sl.entries[n:] {
		x.remove(e)
	}
	clear(sl.entries[n:])
	sl.entries = sl.entries[:n]
	for _, p := range pods[n:] {
		sl.entries = append(sl.entries, x.add(p, node))
	}
}

func samePods(a, b []*corev1.Pod) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (x *Index) clearSlot(sl *slot) {
	for _, e := range sl.entries {
		x.remove(e)
	}
	sl.entries = sl.entries[:0]
	sl.pods = sl.pods[:0]
	sl.node = nil
	sl.hasGen = false
}

func (x *Index) add(p *corev1.Pod, node *corev1.Node) *podEntry {
	e := &podEntry{pod: p, node: node}
	ni := x.ns[p.Namespace]
	if ni == nil {
		ni = &nsIndex{all: map[*podEntry]struct{}{}, byLabel: map[labelKV]map[*podEntry]struct{}{}}
		x.ns[p.Namespace] = ni
	}
	ni.all[e] = struct{}{}
	for k, v := range p.Labels {
		set := ni.byLabel[labelKV{k, v}]
		if set == nil {
			set = map[*podEntry]struct{}{}
			ni.byLabel[labelKV{k, v}] = set
		}
		set[e] = struct{}{}
	}
	x.countPod(p, node, 1)
	a := p.Spec.Affinity
	if a == nil {
		return e
	}
	if paa := a.PodAntiAffinity; paa != nil {
		for i := range paa.RequiredDuringSchedulingIgnoredDuringExecution {
			e.join(x.anti, p, &paa.RequiredDuringSchedulingIgnoredDuringExecution[i], 0, false)
		}
		for i := range paa.PreferredDuringSchedulingIgnoredDuringExecution {
			t := &paa.PreferredDuringSchedulingIgnoredDuringExecution[i]
			e.join(x.score, p, &t.PodAffinityTerm, -int64(t.Weight), false)
		}
	}
	if pa := a.PodAffinity; pa != nil {
		for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
			e.join(x.score, p, &pa.RequiredDuringSchedulingIgnoredDuringExecution[i], 0, true)
		}
		for i := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			t := &pa.PreferredDuringSchedulingIgnoredDuringExecution[i]
			e.join(x.score, p, &t.PodAffinityTerm, int64(t.Weight), false)
		}
	}
	return e
}

// join adds e's pod to the group of term t, creating it if needed.
func (e *podEntry) join(groups map[string]*termGroup, owner *corev1.Pod, t *corev1.PodAffinityTerm, weight int64, hard bool) {
	key := groupKey(owner, t, weight, hard)
	g := groups[key]
	if g == nil {
		g = &termGroup{owner: owner, term: t, weight: weight, hard: hard, counts: pairCounts{}}
		groups[key] = g
	}
	g.pods++
	g.counts.add(e.node.Labels, t.TopologyKey, 1)
	e.groups = append(e.groups, g)
}

func (x *Index) remove(e *podEntry) {
	if ni := x.ns[e.pod.Namespace]; ni != nil {
		delete(ni.all, e)
		for k, v := range e.pod.Labels {
			if set := ni.byLabel[labelKV{k, v}]; set != nil {
				delete(set, e)
				if len(set) == 0 {
					delete(ni.byLabel, labelKV{k, v})
				}
			}
		}
		if len(ni.all) == 0 {
			delete(x.ns, e.pod.Namespace)
		}
	}
	x.countPod(e.pod, e.node, -1)
	for _, g := range e.groups {
		g.pods--
		g.counts.add(e.node.Labels, g.term.TopologyKey, -1)
		if g.pods == 0 {
			key := groupKey(g.owner, g.term, g.weight, g.hard)
			if g.weight == 0 && !g.hard {
				delete(x.anti, key)
			} else {
				delete(x.score, key)
			}
		}
	}
}

// groupKey identifies a term by everything that decides what it selects.
func groupKey(owner *corev1.Pod, t *corev1.PodAffinityTerm, weight int64, hard bool) string {
	var b strings.Builder
	b.WriteString(owner.Namespace)
	b.WriteByte(0)
	b.WriteString(t.TopologyKey)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(weight, 10))
	if hard {
		b.WriteString("h")
	}
	writeSelector(&b, t.LabelSelector)
	b.WriteString("\x00ns")
	for _, n := range t.Namespaces {
		b.WriteString(n)
		b.WriteByte(1)
	}
	if t.NamespaceSelector != nil {
		b.WriteString("\x00nss")
		writeSelector(&b, t.NamespaceSelector)
	}
	for _, k := range t.MatchLabelKeys {
		v, ok := owner.Labels[k]
		b.WriteString("\x00mk" + k + "=" + v + strconv.FormatBool(ok))
	}
	for _, k := range t.MismatchLabelKeys {
		v, ok := owner.Labels[k]
		b.WriteString("\x00mmk" + k + "=" + v + strconv.FormatBool(ok))
	}
	return b.String()
}

func writeSelector(b *strings.Builder, ls *metav1.LabelSelector) {
	if ls == nil {
		b.WriteString("\x00nil")
		return
	}
	keys := make([]string, 0, len(ls.MatchLabels))
	for k := range ls.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + ls.MatchLabels[k])
	}
	for _, e := range ls.MatchExpressions {
		b.WriteString("\x00" + e.Key + string(e.Operator) + strings.Join(e.Values, "\x01"))
	}
}

// eachCandidate calls fn for the indexed pods in namespace ns that could
// match sel: those in the posting list of one of sel's equality
// requirements, or every pod of the namespace when sel has none. exact
// tells fn that every candidate matches sel (its only requirement is the
// posting's), so fn can skip re-reading the pod's labels.
func (x *Index) eachCandidate(ns string, sel *selector, fn func(e *podEntry, exact bool)) {
	if sel.nothing {
		return
	}
	ni := x.ns[ns]
	if ni == nil {
		return
	}
	for i := range sel.reqs {
		r := &sel.reqs[i]
		if r.op != metav1.LabelSelectorOpIn {
			continue
		}
		exact := len(sel.reqs) == 1
		for _, v := range r.values {
			for e := range ni.byLabel[labelKV{r.key, v}] {
				fn(e, exact)
			}
		}
		return
	}
	exact := len(sel.reqs) == 0
	for e := range ni.all {
		fn(e, exact)
	}
}

// eachNamespace calls fn for every indexed namespace term t selects.
func (x *Index) eachNamespace(t *affinityTerm, nsLabels NamespaceLabeler, fn func(ns string)) {
	if t.nsSel.nothing {
		for _, ns := range t.namespaces {
			if x.ns[ns] != nil {
				fn(ns)
			}
		}
		return
	}
	for ns := range x.ns {
		if contains(t.namespaces, ns) || t.nsSelMatches(ns, nsLabels) {
			fn(ns)
		}
	}
}

// maxEligible bounds the cached node sets per nodeSelector; past it the
// cache starts over.
const maxEligible = 1024

// eligibleNodes is the set of nodes a nodeSelector admits, for topology
// spreading's nodeAffinityPolicy Honor, and the domains of those nodes per
// required and wanted keys. It is rebuilt after node changes.
type eligibleNodes struct {
	key     string
	gen     uint64
	nodes   map[*corev1.Node]struct{}
	domains map[string]*domainSet
}

// eligible returns the nodes matching nodeSelector. Caller holds mu.
func (x *Index) eligible(nodeSelector map[string]string) *eligibleNodes {
	keys := slices.Sorted(maps.Keys(nodeSelector))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(nodeSelector[k])
		b.WriteByte(1)
	}
	key := b.String()
	if e := x.eligCache[key]; e != nil && e.gen == x.nodeGen {
		return e
	}
	if x.eligCache == nil || len(x.eligCache) >= maxEligible {
		x.eligCache = map[string]*eligibleNodes{}
	}
	e := &eligibleNodes{key: key, gen: x.nodeGen, nodes: map[*corev1.Node]struct{}{}, domains: map[string]*domainSet{}}
	for i := range x.slots {
		n := x.slots[i].node
		if n == nil {
			continue
		}
		ok := true
		for k, v := range nodeSelector {
			if got, has := n.Labels[k]; !has || got != v {
				ok = false
				break
			}
		}
		if ok {
			e.nodes[n] = struct{}{}
		}
	}
	x.eligCache[key] = e
	return e
}

// eligibleDomains is domains restricted to e's nodes. Caller holds mu.
func (x *Index) eligibleDomains(e *eligibleNodes, required, wanted []string) *domainSet {
	key := strings.Join(required, "\x00") + "\x01" + strings.Join(wanted, "\x00")
	if d := e.domains[key]; d != nil {
		return d
	}
	d := newDomainSet(e.gen, required, wanted, maps.Keys(e.nodes))
	e.domains[key] = d
	return d
}

// newDomainSet counts nodes and, per wanted key, the domains of the nodes
// having every required key.
func newDomainSet(gen uint64, required, wanted []string, nodes iter.Seq[*corev1.Node]) *domainSet {
	d := &domainSet{gen: gen, values: make([]map[string]struct{}, len(wanted))}
	for i := range d.values {
		d.values[i] = map[string]struct{}{}
	}
	for n := range nodes {
		d.all++
		if !hasKeys(n.Labels, required) {
			continue
		}
		d.nodes++
		for j, k := range wanted {
			d.values[j][n.Labels[k]] = struct{}{}
		}
	}
	return d
}
