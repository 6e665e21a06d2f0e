package framework

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
