package endpointslice

import (
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// tracker remembers the slices this controller wrote per service, so a
// sync that sees an informer cache older than its own writes retries
// instead of creating duplicates (upstream's EndpointSliceTracker).
type tracker struct {
	mu sync.Mutex // guards want
	// want maps service key -> slice name -> the resourceVersion written,
	// 0 for a slice deleted.
	want map[string]map[string]uint64
}

func newTracker() *tracker { return &tracker{want: map[string]map[string]uint64{}} }

func (t *tracker) expect(key, name, rv string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.want[key]
	if m == nil {
		m = map[string]uint64{}
		t.want[key] = m
	}
	m[name] = parseRV(rv)
}

// stale reports whether the cached slices lag behind this controller's
// writes; entries the cache has caught up with are forgotten.
func (t *tracker) stale(key string, cached []*discoveryv1.EndpointSlice) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.want[key]
	if len(m) == 0 {
		return false
	}
	have := make(map[string]uint64, len(cached))
	for _, s := range cached {
		have[s.Name] = parseRV(s.ResourceVersion)
	}
	isStale := false
	for name, rv := range m {
		got, present := have[name]
		switch {
		case rv == 0 && present, rv > 0 && (!present || got < rv):
			isStale = true
		default:
			delete(m, name)
		}
	}
	if len(m) == 0 {
		delete(t.want, key)
	}
	return isStale
}

func (t *tracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.want, key)
}

// deleted forgets a slice the informer saw deleted.
func (t *tracker) deleted(key, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.want[key]; m != nil {
		delete(m, name)
	}
}
