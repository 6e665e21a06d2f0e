package storage

import "sync"

// Encoded holds the serialised forms of one watch event, filled lazily by
// the first watcher that writes it in a given format and shared by every
// other watcher of the same event. The watch cache attaches one to each
// event it fans out so that 5,000 watchers of a pod cost one encoding per
// content type, not 5,000.
type Encoded struct {
	mu sync.Mutex
	// m maps a caller-chosen key (media type, served version, event type)
	// to the encoded bytes; the bytes are never modified once stored.
	m map[string][]byte
}

// Get returns the bytes stored under key, calling fill once to produce them
// when absent. A nil Encoded always calls fill.
func (e *Encoded) Get(key string, fill func() ([]byte, error)) ([]byte, error) {
	if e == nil {
		return fill()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.m[key]; ok {
		return b, nil
	}
	b, err := fill()
	if err != nil {
		return nil, err
	}
	if e.m == nil {
		e.m = make(map[string][]byte, 2)
	}
	e.m[key] = b
	return b, nil
}

// Reset drops the stored encodings (the next Get fills again), so that an
// event kept only for watch resumption does not keep its bytes alive.
func (e *Encoded) Reset() {
	e.mu.Lock()
	e.m = nil
	e.mu.Unlock()
}
