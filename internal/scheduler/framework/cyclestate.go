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
	data map[StateKey]StateData
	// SkipFilter and SkipScore hold plugins whose PreFilter/PreScore
	// returned Skip.
	SkipFilter, SkipScore map[string]bool
}

// NewCycleState returns an empty state.
func NewCycleState() *CycleState {
	return &CycleState{data: map[StateKey]StateData{}, SkipFilter: map[string]bool{}, SkipScore: map[string]bool{}}
}

// Write stores d under k.
func (c *CycleState) Write(k StateKey, d StateData) { c.data[k] = d }

// Read returns the data under k or an error naming the missing key.
func (c *CycleState) Read(k StateKey) (StateData, error) {
	if d, ok := c.data[k]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("cycle state: %w: %q", ErrNotFound, k)
}

// ErrNotFound is returned by Read for a key no PreFilter wrote.
var ErrNotFound = fmt.Errorf("not found")
