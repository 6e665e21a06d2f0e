package replicaset

import (
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// ExpectationsTimeout is how long a controller waits for the watch events
// of its own creations and deletions before it syncs regardless (upstream's
// 5 minutes): a lost event must not wedge a controller forever.
const ExpectationsTimeout = 5 * time.Minute

// expectation is what one controller still waits to observe.
type expectation struct {
	add, del int
	at       time.Time
	// deleting holds the keys (ns/name) of pods whose deletion is
	// expected, so each deletion is observed once, whether it shows up as
	// a deletionTimestamp update or as the delete event.
	deleting map[string]struct{}
}

// expectations tracks, per controller key, the pod creations and deletions
// that were issued but not yet seen through the pod informer (upstream's
// UIDTrackingControllerExpectations). A controller with pending
// expectations does not create or delete pods, which is what prevents
// double creation when the informer lags behind the API server.
type expectations struct {
	clock clock.PassiveClock

	mu sync.Mutex // guards m
	m  map[string]*expectation
}

func newExpectations(c clock.PassiveClock) *expectations {
	return &expectations{clock: c, m: map[string]*expectation{}}
}

// satisfied reports whether the controller may act: nothing is pending,
// the expectations expired, or there never were any.
func (e *expectations) satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.add <= 0 && x.del <= 0 {
		return true
	}
	return e.clock.Since(x.at) > ExpectationsTimeout
}

// expectCreations records n creations about to be issued, replacing any
// earlier record.
func (e *expectations) expectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{add: n, at: e.clock.Now()}
}

// expectDeletions records the pods about to be deleted, replacing any
// earlier record.
func (e *expectations) expectDeletions(key string, podKeys []string) {
	set := make(map[string]struct{}, len(podKeys))
	for _, k := range podKeys {
		set[k] = struct{}{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{del: len(set), at: e.clock.Now(), deleting: set}
}

// creationObserved lowers the pending creations by one.
func (e *expectations) creationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		x.add--
	}
}

// deletionObserved lowers the pending deletions by one if podKey was
// expected to go and has not been counted yet.
func (e *expectations) deletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return
	}
	if _, expected := x.deleting[podKey]; expected {
		delete(x.deleting, podKey)
		x.del--
	}
}

// forget drops the record of a deleted controller, so one recreated with
// the same name starts clean.
func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}
