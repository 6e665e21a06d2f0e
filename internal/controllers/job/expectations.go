package job

import (
	"sync"

	"kplane/internal/controllers"
)

// expectations are the job controller's pod expectations plus the UIDs of
// pods whose tracking finalizer removal is in flight, so that a job is not
// synced against a cache that lags its own writes, which would create
// duplicate pods or count a finished pod twice.
type expectations struct {
	*controllers.Expectations

	mu sync.Mutex // guards finalizers
	// finalizers maps job key → pod UIDs whose finalizer is being removed.
	finalizers map[string]map[string]bool
}

func newExpectations() *expectations {
	return &expectations{Expectations: controllers.NewExpectations(), finalizers: map[string]map[string]bool{}}
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
	delete(e.finalizers, key)
	e.Expectations.Forget(key)
}
