package controllers

import (
	"sync"
	"time"
)

// ExpectationsTTL bounds how long a sync waits for the informer to report
// writes the controller made; after it, the cache is trusted again (as
// upstream's ExpectationsTimeout), so a lost event cannot wedge a
// controller.
const ExpectationsTTL = 5 * time.Minute

// Expectations records, per controller key, how many pod creations and
// deletions were issued but not yet seen in the informer. A controller
// does not act on a cache that lags its own writes, which would create
// duplicate pods. (The replicaset controller tracks deletions per pod
// instead, see its expectations.)
type Expectations struct {
	mu sync.Mutex // guards pods
	// pods maps controller key → pending creations/deletions.
	pods map[string]*pendingPods
}

type pendingPods struct {
	add, del int
	at       time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{pods: map[string]*pendingPods{}}
}

// Expect records add creations and del deletions about to be issued at
// now, replacing any earlier record for key.
func (e *Expectations) Expect(key string, add, del int, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pods[key] = &pendingPods{add: add, del: del, at: now}
}

// Observe lowers key's pending creations by add and deletions by del: the
// informer saw them, or they were never issued.
func (e *Expectations) Observe(key string, add, del int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.pods[key]; ok {
		p.add -= add
		p.del -= del
	}
}

// Satisfied reports whether the informer has caught up with key's writes
// (or they expired).
func (e *Expectations) Satisfied(key string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.pods[key]
	return !ok || (p.add <= 0 && p.del <= 0) || now.Sub(p.at) > ExpectationsTTL
}

// Forget drops key's record, so an object recreated under the same name
// starts clean.
func (e *Expectations) Forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pods, key)
}
