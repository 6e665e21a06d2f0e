package job

import (
	"sync"
	"time"
)

// expectationsTTL bounds how long a sync waits for the informer to report
// writes the controller made; after it, the cache is trusted again (as
// upstream's ExpectationsTimeout).
const expectationsTTL = 5 * time.Minute

// expectations records, per job key, pod creations and deletions issued
// but not yet seen in the informer, and the UIDs of pods whose tracking
// finalizer removal is in flight. A job is not synced against a cache that
// lags its own writes, which would create duplicate pods or count a
// finished pod twice.
type expectations struct {
	mu sync.Mutex // guards pods and finalizers
	// pods maps job key → pending creations/deletions.
	pods map[string]*pending
	// finalizers maps job key → pod UIDs whose finalizer is being removed.
	finalizers map[string]map[string]bool
}

type pending struct {
	add, del int
	at       time.Time
}

func newExpectations() *expectations {
	return &expectations{pods: map[string]*pending{}, finalizers: map[string]map[string]bool{}}
}

func (e *expectations) expect(key string, add, del int, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pods[key] = &pending{add: add, del: del, at: now}
}

func (e *expectations) observe(key string, add, del int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.pods[key]; ok {
		p.add -= add
		p.del -= del
	}
}

// satisfied reports whether the informer has caught up with key's writes.
func (e *expectations) satisfied(key string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pods[key]
	return !ok || (p.add <= 0 && p.del <= 0) || now.Sub(p.at) > expectationsTTL
}

func (e *expectations) expectFinalizerRemoved(key, uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.finalizers[key]
	if s == nil {
		s = map[string]bool{}
		e.finalizers[key] = s
	}
	s[uid] = true
}

func (e *expectations) finalizerRemoved(key, uid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.finalizers[key]; s != nil {
		delete(s, uid)
		if len(s) == 0 {
			delete(e.finalizers, key)
		}
	}
}

func (e *expectations) removingFinalizer(key, uid string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.finalizers[key][uid]
}

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pods, key)
	delete(e.finalizers, key)
}
