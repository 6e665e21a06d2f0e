package framework

import "fmt"

// StateKey names a plugin's per-cycle data.
type StateKey string

// StateData is what PreFilter/PreScore compute once per pod for Filter and
// Score to read.
type StateData interface{}

// CycleState carries per-pod data between extension points. Writes happen
// only in PreFilter and PreScore, which run sequentially; Filter and Score
// run in parallel and only read, so no lock is needed.
type CycleState struct {
	// data is a short list: a handful of plugins write state, and a linear
	// scan beats hashing the key on every Filter/Score call.
	data []stateEntry
	// SkipFilter and SkipScore hold plugins whose PreFilter/PreScore
	// returned Skip.
	SkipFilter, SkipScore map[string]bool
	// filters are the Filter plugins not skipped, fixed after PreFilter so
	// the per-node loop does no map lookups.
	filters []FilterPlugin
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{SkipFilter: map[string]bool{}, SkipScore: map[string]bool{}}
}

type stateEntry struct {
	key  StateKey
	data StateData
}

// Write stores d under k.
func (c *CycleState) Write(k StateKey, d StateData) {
	for i := range c.data {
		if c.data[i].key == k {
			c.data[i].data = d
			return
		}
	}
	c.data = append(c.data, stateEntry{k, d})
}

// Read returns the data under k or an error naming the missing key.
func (c *CycleState) Read(k StateKey) (StateData, error) {
	for i := range c.data {
		if c.data[i].key == k {
			return c.data[i].data, nil
		}
	}
	return nil, fmt.Errorf("cycle state: %w: %q", ErrNotFound, k)
}

// StateCloner is implemented by state data that PreFilterExtensions
// change: Clone must return an independent copy.
type StateCloner interface {
	Clone() StateData
}

// Clone copies the state for a what-if (preemption, nominated pods): data
// implementing StateCloner is deep-copied, other data and the skip sets
// are shared (they are read-only after PreFilter).
func (c *CycleState) Clone() *CycleState {
	if c == nil {
		return nil
	}
	out := &CycleState{data: make([]stateEntry, len(c.data)), SkipFilter: c.SkipFilter, SkipScore: c.SkipScore, filters: c.filters}
	for i, e := range c.data {
		if cl, ok := e.data.(StateCloner); ok {
			e.data = cl.Clone()
		}
		out.data[i] = e
	}
	return out
}

// ErrNotFound is returned by Read for a key no PreFilter wrote.
var ErrNotFound = fmt.Errorf("not found")
