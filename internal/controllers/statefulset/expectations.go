package statefulset

import (
	"sync"
	"time"
)

// expectationsTTL bounds how long a sync waits for the informer to report
// writes the controller made; after it, the cache is trusted again (as
// upstream's ExpectationsTimeout).
const expectationsTTL = 5 * time.Minute

// expectations records, per statefulset key, pod creations and deletions issued
// but not yet seen in the informer. A StatefulSet is not synced
// against a cache that lags its own writes, which would create duplicate
// pods.
type expectations struct {
	mu sync.Mutex // guards pods
	// pods maps statefulset key → pending creations/deletions.
	pods map[string]*pending
}

type pending struct {
	add, del int
	at       time.Time
}

func newExpectations() *expectations {
	return &expectations{pods: map[string]*pending{}}
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

func (e *expectations) forget(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pods, key)
}
