package nodelifecycle

import (
	"container/heap"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/flowcontrol"
)

// ZoneState is the health of one zone, which sets how fast its unhealthy
// nodes are tainted for eviction.
type ZoneState string

// Zone states as upstream.
const (
	StateInitial           ZoneState = "Initial"
	StateNormal            ZoneState = "Normal"
	StateFullDisruption    ZoneState = "FullDisruption"
	StatePartialDisruption ZoneState = "PartialDisruption"
)

// evictionBurst is the token bucket burst of each zone's tainter, and
// taintPassPeriod how often the tainters are drained (upstream's
// EvictionRateLimiterBurst and NodeEvictionPeriod).
const (
	evictionBurst   = 1
	taintPassPeriod = 100 * time.Millisecond
)

// labelExcludeDisruption excludes a node from zone health accounting.
const labelExcludeDisruption = "node.kubernetes.io/exclude-disruption"

// zoneKey identifies a node's failure domain as upstream's GetZoneKey does:
// region and zone joined by ":\x00:", or "" for a node with neither label.
func zoneKey(node *corev1.Node) string {
	l := node.Labels
	region := l[corev1.LabelTopologyRegion]
	if region == "" {
		region = l[corev1.LabelFailureDomainBetaRegion]
	}
	zone := l[corev1.LabelTopologyZone]
	if zone == "" {
		zone = l[corev1.LabelFailureDomainBetaZone]
	}
	if region == "" && zone == "" {
		return ""
	}
	return region + ":\x00:" + zone
}

// computeZoneState classifies a zone from its nodes' Ready conditions (nil
// counts as not ready): no ready node is a full disruption, at least three
// and at least threshold of them not ready a partial one. It returns the
// number of not-ready nodes too.
func computeZoneState(conds []*corev1.NodeCondition, threshold float32) (int, ZoneState) {
	ready, notReady := 0, 0
	for _, c := range conds {
		if c != nil && c.Status == corev1.ConditionTrue {
			ready++
		} else {
			notReady++
		}
	}
	switch {
	case ready == 0 && notReady > 0:
		return notReady, StateFullDisruption
	case notReady > 2 && float32(notReady)/float32(notReady+ready) >= threshold:
		return notReady, StatePartialDisruption
	default:
		return notReady, StateNormal
	}
}

// zoneRate is the tainting rate (nodes/s) of a zone of zoneSize nodes in
// state: the normal rate when healthy or fully disrupted (while another
// zone still works), and while partially disrupted the secondary rate for
// large zones and zero for small ones.
func zoneRate(o Options, state ZoneState, zoneSize int) float32 {
	switch state {
	case StatePartialDisruption:
		if int32(zoneSize) > o.LargeClusterSizeThreshold {
			return o.SecondaryEvictionRate
		}
		return 0
	default:
		return o.EvictionRate
	}
}

// timedValue is one node waiting in a zone's tainter.
type timedValue struct {
	name, uid string
	addedAt   time.Time
	processAt time.Time
	index     int
}

type timedHeap []*timedValue

func (h timedHeap) Len() int           { return len(h) }
func (h timedHeap) Less(i, j int) bool { return h[i].processAt.Before(h[j].processAt) }
func (h timedHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timedHeap) Push(x any)        { v := x.(*timedValue); v.index = len(*h); *h = append(*h, v) }
func (h *timedHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

// rateLimitedQueue holds the nodes of one zone waiting for a NoExecute
// taint, released no faster than its token bucket allows (upstream's
// RateLimitedTimedQueue). A zero rate stops it.
type rateLimitedQueue struct {
	clock flowcontrol.Clock

	mu      sync.Mutex // guards everything below
	items   timedHeap
	byName  map[string]*timedValue
	limiter flowcontrol.RateLimiter
	qps     float32
}

func newRateLimitedQueue(qps float32, clk flowcontrol.Clock) *rateLimitedQueue {
	q := &rateLimitedQueue{clock: clk, byName: map[string]*timedValue{}}
	q.swapLimiterLocked(qps)
	return q
}

// add queues a node unless it is already queued; it reports whether it was added.
func (q *rateLimitedQueue) add(name, uid string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.byName[name]; ok {
		return false
	}
	now := q.clock.Now()
	v := &timedValue{name: name, uid: uid, addedAt: now, processAt: now}
	heap.Push(&q.items, v)
	q.byName[name] = v
	return true
}

// remove drops a node; it reports whether the node was queued.
func (q *rateLimitedQueue) remove(name string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.byName[name]
	if !ok {
		return false
	}
	heap.Remove(&q.items, v.index)
	delete(q.byName, name)
	return true
}

func (q *rateLimitedQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// try hands due nodes to fn while tokens last. fn returns true when done
// with the node, or false and a delay after
// which to retry it (upstream's semantics). fn runs without the lock held.
func (q *rateLimitedQueue) try(fn func(name, uid string) (bool, time.Duration)) {
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		head := q.items[0]
		now := q.clock.Now()
		if now.Before(head.processAt) || !q.limiter.TryAccept() {
			q.mu.Unlock()
			return
		}
		heap.Pop(&q.items)
		delete(q.byName, head.name)
		q.mu.Unlock()

		done, wait := fn(head.name, head.uid)
		if done {
			continue
		}
		q.mu.Lock()
		if _, again := q.byName[head.name]; !again {
			head.processAt = now.Add(wait + 1)
			heap.Push(&q.items, head)
			q.byName[head.name] = head
		}
		q.mu.Unlock()
	}
}

// swapLimiter changes the rate; tokens are not carried over.
func (q *rateLimitedQueue) swapLimiter(qps float32) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.swapLimiterLocked(qps)
}

func (q *rateLimitedQueue) swapLimiterLocked(qps float32) {
	if q.limiter != nil && q.qps == qps {
		return
	}
	q.qps = qps
	if qps <= 0 {
		q.limiter = flowcontrol.NewFakeNeverRateLimiter()
		return
	}
	q.limiter = flowcontrol.NewTokenBucketRateLimiterWithClock(qps, evictionBurst, q.clock)
}

func (q *rateLimitedQueue) rate() float32 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.qps
}
