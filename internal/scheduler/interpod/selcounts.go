package interpod

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxSelCounts bounds the selectors an Index keeps live counts for. A
// scheduler sees one spreading selector per workload (ReplicaSet,
// StatefulSet, Service); past the bound the least recently used half is
// dropped and rebuilt from the postings when asked for again.
const maxSelCounts = 4096

// selCounts is the live answer to one spreading selector in one namespace:
// how many non-terminating indexed pods it matches per node and per
// topology domain of every tracked key. The Index keeps it up to date on
// every pod it adds or removes, so a scheduling cycle reads the counts of
// its pod's ReplicaSet instead of walking the group's pods, which at
// 150,000 pods was most of a cycle.
type selCounts struct {
	ns    string
	sel   selector
	nodes map[*corev1.Node]int64
	// doms counts matches per (key, value) for the Index's tracked keys; a
	// node lacking a key counts under value "", as upstream's default
	// spreading does.
	doms map[topologyPair]int64
	used uint64 // Index.epoch when last read
}

// selPosting names the (namespace, label) under which a selCounts is
// found when a pod with that label is added or removed: the selector's
// first In requirement, one posting per value. A pod has one value per key,
// so it reaches each selector through at most one posting.
type selPosting struct{ ns, k, v string }

// selectorKey identifies a compiled selector in a namespace.
func selectorKey(ns string, sel *selector) string {
	var b strings.Builder
	b.WriteString(ns)
	for i := range sel.reqs {
		r := &sel.reqs[i]
		b.WriteByte(0)
		b.WriteString(r.key)
		b.WriteByte(1)
		b.WriteString(string(r.op))
		for _, v := range r.values {
			b.WriteByte(1)
			b.WriteString(v)
		}
	}
	return b.String()
}

// firstIn returns the selector's first In requirement, or nil.
func firstIn(sel *selector) *requirement {
	for i := range sel.reqs {
		if sel.reqs[i].op == metav1.LabelSelectorOpIn {
			return &sel.reqs[i]
		}
	}
	return nil
}

// selectorCounts returns the live counts of sel in namespace ns, building
// them from the postings the first time, or nil when sel has no In
// requirement to file them under (then the caller scans). The result is
// owned by the Index: read it only under mu. Caller holds mu.
func (x *Index) selectorCounts(ns string, sel *selector) *selCounts {
	if sel.nothing {
		return nil
	}
	r := firstIn(sel)
	if r == nil {
		return nil
	}
	key := selectorKey(ns, sel)
	x.epoch++
	if sc := x.sels[key]; sc != nil {
		sc.used = x.epoch
		return sc
	}
	if len(x.sels) >= maxSelCounts {
		x.evictSelCounts()
	}
	sc := &selCounts{ns: ns, sel: *sel, nodes: map[*corev1.Node]int64{}, doms: map[topologyPair]int64{}, used: x.epoch}
	x.eachCandidate(ns, sel, func(e *podEntry, exact bool) {
		if e.pod.DeletionTimestamp == nil && (exact || sel.matches(e.pod.Labels)) {
			sc.nodes[e.node]++
		}
	})
	for node, n := range sc.nodes {
		sc.addDomains(node, n, x.domKeys)
	}
	if x.sels == nil {
		x.sels = map[string]*selCounts{}
		x.selPostings = map[selPosting][]*selCounts{}
	}
	x.sels[key] = sc
	for _, v := range r.values {
		p := selPosting{ns, r.key, v}
		x.selPostings[p] = append(x.selPostings[p], sc)
	}
	return sc
}

// evictSelCounts drops the least recently used half of the selector
// counts. Caller holds mu.
func (x *Index) evictSelCounts() {
	all := slices.Collect(maps.Values(x.sels))
	slices.SortFunc(all, func(a, b *selCounts) int { return int(int64(a.used) - int64(b.used)) })
	for _, sc := range all[:len(all)/2] {
		delete(x.sels, selectorKey(sc.ns, &sc.sel))
		r := firstIn(&sc.sel)
		for _, v := range r.values {
			p := selPosting{sc.ns, r.key, v}
			list := slices.DeleteFunc(x.selPostings[p], func(o *selCounts) bool { return o == sc })
			if len(list) == 0 {
				delete(x.selPostings, p)
			} else {
				x.selPostings[p] = list
			}
		}
	}
}

// trackDomain makes every selCounts keep per-domain counts for key from
// now on. Caller holds mu.
func (x *Index) trackDomain(key string) {
	if slices.Contains(x.domKeys, key) {
		return
	}
	x.domKeys = append(x.domKeys, key)
	keys := []string{key}
	for _, sc := range x.sels {
		for node, n := range sc.nodes {
			sc.addDomains(node, n, keys)
		}
	}
}

func (sc *selCounts) addDomains(node *corev1.Node, delta int64, keys []string) {
	for _, k := range keys {
		p := topologyPair{key: k, value: node.Labels[k]}
		if n := sc.doms[p] + delta; n == 0 {
			delete(sc.doms, p)
		} else {
			sc.doms[p] = n
		}
	}
}

// countPod adds delta for a non-terminating pod on node to every selector
// count that matches it. Caller holds mu.
func (x *Index) countPod(p *corev1.Pod, node *corev1.Node, delta int64) {
	if len(x.sels) == 0 || p.DeletionTimestamp != nil {
		return
	}
	for k, v := range p.Labels {
		for _, sc := range x.selPostings[selPosting{p.Namespace, k, v}] {
			if !sc.sel.matches(p.Labels) {
				continue
			}
			if n := sc.nodes[node] + delta; n <= 0 {
				delete(sc.nodes, node)
			} else {
				sc.nodes[node] = n
			}
			sc.addDomains(node, delta, x.domKeys)
		}
	}
}
