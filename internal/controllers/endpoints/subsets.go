package endpoints

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxCapacity is how many addresses an Endpoints object holds before it
// is truncated and annotated endpoints.kubernetes.io/over-capacity.
const maxCapacity = 1000

// entry is one address offering one port (or none, for a port-less
// headless service).
type entry struct {
	addr  corev1.EndpointAddress
	port  *corev1.EndpointPort
	ready bool
}

func addrKey(a *corev1.EndpointAddress) string {
	uid := ""
	if a.TargetRef != nil {
		uid = string(a.TargetRef.UID)
	}
	return a.IP + "/" + uid
}

func lessAddr(a, b corev1.EndpointAddress) int {
	if c := cmp.Compare(a.IP, b.IP); c != 0 {
		return c
	}
	var ua, ub string
	if a.TargetRef != nil {
		ua = string(a.TargetRef.UID)
	}
	if b.TargetRef != nil {
		ub = string(b.TargetRef.UID)
	}
	return cmp.Compare(ua, ub)
}

func portString(p corev1.EndpointPort) string {
	ap := ""
	if p.AppProtocol != nil {
		ap = *p.AppProtocol
	}
	return fmt.Sprintf("%s/%d/%s/%s", p.Name, p.Port, p.Protocol, ap)
}

// repack groups entries as the Endpoints API wants them (upstream's
// RepackSubsets): ports offered by exactly the same addresses, with the
// same readiness, share a subset; an address ready for a port in one
// entry stays ready. Addresses, ports and subsets are sorted.
func repack(entries []entry) []corev1.EndpointSubset {
	type addrState struct {
		addr  corev1.EndpointAddress
		ready bool
	}
	// port (or "" for none) -> address key -> state
	byPort := map[string]map[string]*addrState{}
	ports := map[string]*corev1.EndpointPort{}
	for _, e := range entries {
		pk := ""
		if e.port != nil {
			pk = portString(*e.port)
			ports[pk] = e.port
		}
		m := byPort[pk]
		if m == nil {
			m = map[string]*addrState{}
			byPort[pk] = m
		}
		k := addrKey(&e.addr)
		if s, ok := m[k]; ok {
			s.ready = s.ready || e.ready
			continue
		}
		m[k] = &addrState{addr: e.addr, ready: e.ready}
	}
	type group struct {
		addrs []*addrState
		ports []corev1.EndpointPort
	}
	groups := map[string]*group{}
	for pk, m := range byPort {
		keys := make([]string, 0, len(m))
		for k, s := range m {
			keys = append(keys, fmt.Sprintf("%s/%t", k, s.ready))
		}
		slices.Sort(keys)
		gk := strings.Join(keys, ",")
		g := groups[gk]
		if g == nil {
			g = &group{}
			for _, s := range m {
				g.addrs = append(g.addrs, s)
			}
			groups[gk] = g
		}
		if p := ports[pk]; p != nil {
			g.ports = append(g.ports, *p)
		}
	}
	out := make([]corev1.EndpointSubset, 0, len(groups))
	for _, g := range groups {
		var sub corev1.EndpointSubset
		for _, s := range g.addrs {
			if s.ready {
				sub.Addresses = append(sub.Addresses, s.addr)
			} else {
				sub.NotReadyAddresses = append(sub.NotReadyAddresses, s.addr)
			}
		}
		slices.SortFunc(sub.Addresses, lessAddr)
		slices.SortFunc(sub.NotReadyAddresses, lessAddr)
		slices.SortFunc(g.ports, func(a, b corev1.EndpointPort) int { return cmp.Compare(portString(a), portString(b)) })
		sub.Ports = g.ports
		out = append(out, sub)
	}
	slices.SortFunc(out, func(a, b corev1.EndpointSubset) int { return cmp.Compare(subsetKey(a), subsetKey(b)) })
	return out
}

func subsetKey(s corev1.EndpointSubset) string {
	var b strings.Builder
	for _, a := range s.Addresses {
		b.WriteString(a.IP + ",")
	}
	b.WriteString("|")
	for _, a := range s.NotReadyAddresses {
		b.WriteString(a.IP + ",")
	}
	b.WriteString("|")
	for _, p := range s.Ports {
		b.WriteString(portString(p) + ",")
	}
	return b.String()
}

func countAddresses(subsets []corev1.EndpointSubset) (ready, notReady int) {
	for _, s := range subsets {
		ready += len(s.Addresses)
		notReady += len(s.NotReadyAddresses)
	}
	return ready, notReady
}

// capacityAnnotationCorrect reports whether the over-capacity annotation
// needs no change: the subsets fit and the annotation is absent.
func capacityAnnotationCorrect(annotations map[string]string, subsets []corev1.EndpointSubset) bool {
	r, n := countAddresses(subsets)
	if r+n > maxCapacity {
		return false
	}
	_, ok := annotations[corev1.EndpointsOverCapacity]
	return !ok
}

// truncate keeps at most maxCapacity addresses, ready ones first, spread
// over subsets in proportion to their size; it reports whether it cut.
func truncate(subsets []corev1.EndpointSubset) bool {
	totalReady, totalNotReady := countAddresses(subsets)
	if totalReady+totalNotReady <= maxCapacity {
		return false
	}
	truncReady := totalReady > maxCapacity
	limit, total := maxCapacity-totalReady, totalNotReady
	if truncReady {
		limit, total = maxCapacity, totalReady
	}
	left := limit
	for i := range subsets {
		s := &subsets[i]
		n := len(s.NotReadyAddresses)
		if truncReady {
			n = len(s.Addresses)
		}
		take := min(int(math.Ceil(float64(n)/float64(total)*float64(limit))), left)
		if truncReady {
			s.Addresses = s.Addresses[:min(take, len(s.Addresses))]
			s.NotReadyAddresses = []corev1.EndpointAddress{}
			left -= len(s.Addresses)
		} else {
			s.NotReadyAddresses = s.NotReadyAddresses[:min(take, len(s.NotReadyAddresses))]
			left -= len(s.NotReadyAddresses)
		}
	}
	return true
}
