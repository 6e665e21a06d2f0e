package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
)

// QueuedPod is a pending pod with its scheduling history.
type QueuedPod struct {
	Pod *corev1.Pod
	// Timestamp orders pods of equal priority (when last added).
	Timestamp time.Time
	// InitialAttempt is when the pod was first popped (for e2e latency).
	InitialAttempt time.Time
	// Attempts counts scheduling attempts.
	Attempts int
	// class is the equivalence class key ("" when none).
	class string

	backoffExpiry time.Time
	index         int // heap index
}

// Queue sub-queue names, as the scheduler_pending_pods "queue" label.
const (
	queueActive        = "active"
	queueBackoff       = "backoff"
	queueUnschedulable = "unschedulable"
)

// Queue is upstream's PriorityQueue: an active heap ordered by priority
// then time, a backoff heap ordered by expiry and a set of unschedulable
// pods that cluster events move back. Safe for concurrent use.
type Queue struct {
	initialBackoff, maxBackoff time.Duration
	// maxUnschedulable is how long a pod may sit in the unschedulable set
	// before the periodic flush retries it (upstream 5m).
	maxUnschedulable time.Duration
	now              func() time.Time
	classOf          func(*corev1.Pod) string

	mu   sync.Mutex // guards everything below
	cond *sync.Cond
	// active and backoff are heaps; unschedulable is keyed by UID; where
	// says which holds a pod.
	active        podHeap
	backoff       podHeap
	unschedulable map[types.UID]*QueuedPod
	where         map[types.UID]string
	byUID         map[types.UID]*QueuedPod
	// cycle counts pops; moveCycle is the cycle of the last move request,
	// so a pod that failed while a move happened goes to backoff, not to
	// the unschedulable set where it could wait for an event already past.
	cycle, moveCycle int64
	closed           bool
}

// NewQueue returns an empty queue with upstream's defaults unless set.
func NewQueue(initialBackoff, maxBackoff time.Duration, now func() time.Time, classOf func(*corev1.Pod) string) *Queue {
	if now == nil {
		now = time.Now
	}
	q := &Queue{
		initialBackoff: initialBackoff, maxBackoff: maxBackoff, maxUnschedulable: 5 * time.Minute, now: now, classOf: classOf,
		unschedulable: map[types.UID]*QueuedPod{}, where: map[types.UID]string{}, byUID: map[types.UID]*QueuedPod{},
		active:  podHeap{less: activeLess},
		backoff: podHeap{less: func(a, b *QueuedPod) bool { return a.backoffExpiry.Before(b.backoffExpiry) }},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func priorityOf(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func activeLess(a, b *QueuedPod) bool {
	pa, pb := priorityOf(a.Pod), priorityOf(b.Pod)
	if pa != pb {
		return pa > pb
	}
	return a.Timestamp.Before(b.Timestamp)
}

// Add queues a new pending pod.
func (q *Queue) Add(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.where[pod.UID]; ok {
		q.updateLocked(pod)
		return
	}
	qp := &QueuedPod{Pod: pod, Timestamp: q.now()}
	if q.classOf != nil {
		qp.class = q.classOf(pod)
	}
	q.pushActiveLocked(qp)
}

func (q *Queue) pushActiveLocked(qp *QueuedPod) {
	heap.Push(&q.active, qp)
	q.where[qp.Pod.UID] = queueActive
	q.byUID[qp.Pod.UID] = qp
	q.cond.Broadcast()
}

// Update replaces a queued pod; a spec or label change moves an
// unschedulable pod back to be retried (a status-only change does not).
func (q *Queue) Update(pod *corev1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.where[pod.UID]; !ok {
		qp := &QueuedPod{Pod: pod, Timestamp: q.now()}
		if q.classOf != nil {
			qp.class = q.classOf(pod)
		}
		q.pushActiveLocked(qp)
		return
	}
	q.updateLocked(pod)
}

func (q *Queue) updateLocked(pod *corev1.Pod) {
	switch q.where[pod.UID] {
	case queueActive:
		q.replaceInHeap(&q.active, pod)
	case queueBackoff:
		q.replaceInHeap(&q.backoff, pod)
	case queueUnschedulable:
		qp := q.unschedulable[pod.UID]
		old := qp.Pod
		qp.Pod = pod
		if q.classOf != nil {
			qp.class = q.classOf(pod)
		}
		if !equality.Semantic.DeepEqual(old.Spec, pod.Spec) || !equality.Semantic.DeepEqual(old.Labels, pod.Labels) {
			delete(q.unschedulable, pod.UID)
			q.requeueLocked(qp)
		}
	}
}

func (q *Queue) replaceInHeap(h *podHeap, pod *corev1.Pod) {
	qp := q.byUID[pod.UID]
	qp.Pod = pod
	if q.classOf != nil {
		qp.class = q.classOf(pod)
	}
	heap.Fix(h, qp.index)
}

// Delete removes a pod wherever it is.
func (q *Queue) Delete(uid types.UID) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qp := q.byUID[uid]
	switch q.where[uid] {
	case queueActive:
		heap.Remove(&q.active, qp.index)
	case queueBackoff:
		heap.Remove(&q.backoff, qp.index)
	case queueUnschedulable:
		delete(q.unschedulable, uid)
	}
	delete(q.where, uid)
	delete(q.byUID, uid)
}

// Pop waits for an active pod; it returns nil when ctx ends or the queue
// is closed.
func (q *Queue) Pop(ctx context.Context) *QueuedPod {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.closed = true
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	qp := heap.Pop(&q.active).(*QueuedPod)
	delete(q.where, qp.Pod.UID)
	delete(q.byUID, qp.Pod.UID)
	q.cycle++
	qp.Attempts++
	if qp.InitialAttempt.IsZero() {
		qp.InitialAttempt = q.now()
	}
	return qp
}

// Cycle is the number of pops so far (the scheduling cycle).
func (q *Queue) Cycle() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.cycle
}

// AddUnschedulable returns a pod that failed in scheduling cycle cycle:
// to backoff when a move request happened since, else to the
// unschedulable set. A pod deleted or re-added meanwhile is dropped.
func (q *Queue) AddUnschedulable(qp *QueuedPod, cycle int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.where[qp.Pod.UID]; ok {
		return
	}
	qp.Timestamp = q.now()
	qp.backoffExpiry = qp.Timestamp.Add(q.backoffDuration(qp))
	if q.moveCycle >= cycle {
		heap.Push(&q.backoff, qp)
		q.where[qp.Pod.UID] = queueBackoff
		q.byUID[qp.Pod.UID] = qp
		return
	}
	q.unschedulable[qp.Pod.UID] = qp
	q.where[qp.Pod.UID] = queueUnschedulable
	q.byUID[qp.Pod.UID] = qp
}

// AddBackoff returns a pod that hit an error (not a fit failure) to
// backoff.
func (q *Queue) AddBackoff(qp *QueuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.where[qp.Pod.UID]; ok {
		return
	}
	qp.Timestamp = q.now()
	qp.backoffExpiry = qp.Timestamp.Add(q.backoffDuration(qp))
	heap.Push(&q.backoff, qp)
	q.where[qp.Pod.UID] = queueBackoff
	q.byUID[qp.Pod.UID] = qp
}

// backoffDuration is initial * 2^(attempts-1), capped at max.
func (q *Queue) backoffDuration(qp *QueuedPod) time.Duration {
	d := q.initialBackoff
	for i := 1; i < qp.Attempts; i++ {
		if d >= q.maxBackoff/2 {
			return q.maxBackoff
		}
		d *= 2
	}
	return min(d, q.maxBackoff)
}

// requeueLocked sends a pod to backoff if still backing off, else active.
func (q *Queue) requeueLocked(qp *QueuedPod) {
	if q.now().Before(qp.backoffExpiry) {
		heap.Push(&q.backoff, qp)
		q.where[qp.Pod.UID] = queueBackoff
		q.byUID[qp.Pod.UID] = qp
		return
	}
	q.pushActiveLocked(qp)
}

// MoveAllToActiveOrBackoff retries every unschedulable pod after a cluster
// event that may make them schedulable (node added or changed, pod
// deleted).
func (q *Queue) MoveAllToActiveOrBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for uid, qp := range q.unschedulable {
		delete(q.unschedulable, uid)
		q.requeueLocked(qp)
	}
	q.moveCycle = q.cycle
}

// Flush moves pods whose backoff expired to active and pods that have
// been unschedulable longer than the maximum back to be retried.
func (q *Queue) Flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for q.backoff.Len() > 0 && !now.Before(q.backoff.items[0].backoffExpiry) {
		qp := heap.Pop(&q.backoff).(*QueuedPod)
		q.pushActiveLocked(qp)
	}
	for uid, qp := range q.unschedulable {
		if now.Sub(qp.Timestamp) > q.maxUnschedulable {
			delete(q.unschedulable, uid)
			q.requeueLocked(qp)
		}
	}
}

// Lens returns the sizes of the active, backoff and unschedulable queues.
func (q *Queue) Lens() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable)
}

// podHeap is a heap of QueuedPods with a configurable order.
type podHeap struct {
	items []*QueuedPod
	less  func(a, b *QueuedPod) bool
}

func (h *podHeap) Len() int           { return len(h.items) }
func (h *podHeap) Less(i, j int) bool { return h.less(h.items[i], h.items[j]) }
func (h *podHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *podHeap) Push(x any) {
	qp := x.(*QueuedPod)
	qp.index = len(h.items)
	h.items = append(h.items, qp)
}
func (h *podHeap) Pop() any {
	n := len(h.items) - 1
	qp := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return qp
}
