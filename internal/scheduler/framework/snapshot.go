package framework

import "slices"

// Snapshot is the cluster state one scheduling cycle reads: NodeInfo
// clones that only the scheduling goroutine updates between cycles.
type Snapshot struct {
	// Map holds every NodeInfo by node name, including pods-only entries
	// whose node object is gone.
	Map map[string]*NodeInfo
	// List holds the NodeInfos that have a node, in a stable order.
	List []*NodeInfo
	// WithRequiredAntiAffinity lists nodes having pods with required
	// anti-affinity (for inter-pod affinity filtering).
	WithRequiredAntiAffinity []*NodeInfo
	// Generation is the cache generation the snapshot reflects.
	Generation int64
	// ListVersion changes whenever List is rebuilt (nodes added or
	// removed), so per-node caches indexed by position can be dropped.
	ListVersion int64

	// changes logs, in order, the List positions whose NodeInfo changed
	// and the generation it changed to, since the list was last rebuilt;
	// logFrom is the generation after which the log is complete.
	changes []Change
	logFrom int64
	pos     map[*NodeInfo]int32
}

// Change is one NodeInfo of Snapshot.List changing: its position in the
// list and the generation it changed to.
type Change struct {
	Pos        int32
	Generation int64
}

// maxChanges bounds the change log; past it the older half is dropped and
// consumers that fell that far behind walk the whole list once.
const maxChanges = 1 << 14

// ResetChanges starts an empty change log at the snapshot's generation;
// the cache calls it after rebuilding List.
func (s *Snapshot) ResetChanges() {
	s.changes = s.changes[:0]
	s.logFrom = s.Generation
	if s.pos == nil {
		s.pos = make(map[*NodeInfo]int32, len(s.List))
	}
	clear(s.pos)
	for i, n := range s.List {
		s.pos[n] = int32(i)
	}
}

// LogChange records that existing NodeInfo n of List changed to its
// current generation; the cache calls it for every NodeInfo it updates in
// place while List stays the same.
func (s *Snapshot) LogChange(n *NodeInfo) {
	i, ok := s.pos[n]
	if !ok {
		return
	}
	if len(s.changes) >= maxChanges {
		half := len(s.changes) / 2
		s.logFrom = s.changes[half-1].Generation
		s.changes = append(s.changes[:0], s.changes[half:]...)
	}
	s.changes = append(s.changes, Change{Pos: i, Generation: n.Generation()})
}

// ChangedSince returns the List positions whose NodeInfo changed after
// generation gen (possibly with repeats), for consumers that keep per-node
// state by position and want to skip unchanged nodes, and false when the
// log does not reach back to gen or List was rebuilt since listVersion.
// The slice is shared: do not modify it.
func (s *Snapshot) ChangedSince(listVersion, gen int64) ([]Change, bool) {
	if listVersion != s.ListVersion || gen < s.logFrom || s.pos == nil {
		return nil, false
	}
	// The first change after gen: no element compares equal.
	i, _ := slices.BinarySearchFunc(s.changes, gen, func(c Change, g int64) int {
		if c.Generation <= g {
			return -1
		}
		return 1
	})
	return s.changes[i:], true
}

// NewSnapshot returns an empty snapshot.
func NewSnapshot() *Snapshot { return &Snapshot{Map: map[string]*NodeInfo{}} }

// NewSnapshotFrom builds a snapshot from NodeInfos (for tests and
// benchmarks).
func NewSnapshotFrom(nodes []*NodeInfo) *Snapshot {
	s := NewSnapshot()
	for _, n := range nodes {
		s.Map[n.Name()] = n
		if n.Node() != nil {
			s.List = append(s.List, n)
		}
		if n.PodsWithRequiredAntiAffinity > 0 {
			s.WithRequiredAntiAffinity = append(s.WithRequiredAntiAffinity, n)
		}
	}
	s.ListVersion = 1
	return s
}

// NumNodes is the number of nodes with a node object.
func (s *Snapshot) NumNodes() int { return len(s.List) }

// Get returns the NodeInfo of name or nil.
func (s *Snapshot) Get(name string) *NodeInfo { return s.Map[name] }
