package plugins

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/interpod"
)

// InterpodOptions configures the InterPodAffinity and PodTopologySpread
// adapters.
type InterpodOptions struct {
	// Snapshot, when set, lets the adapters reuse one []interpod.Node view
	// of the snapshot's node list until the list changes, instead of
	// building one per pod.
	Snapshot *framework.Snapshot
	// NamespaceLabels resolves namespaceSelector terms (nil: only empty
	// selectors and explicit namespaces match).
	NamespaceLabels interpod.NamespaceLabeler
	// Parallelism of one PreFilter's scan (0: GOMAXPROCS).
	Parallelism int
	// DisableDefaultSpread turns off upstream's system default spreading
	// for pods without constraints.
	DisableDefaultSpread bool
}

// nodeView caches the snapshot list as []interpod.Node by list version.
type nodeView struct {
	snap    *framework.Snapshot
	mu      sync.Mutex // guards version and list
	version int64
	list    []interpod.Node
}

func (v *nodeView) of(nodes []*framework.NodeInfo) []interpod.Node {
	list, _ := v.withLog(nodes)
	return list
}

// isSnapshotList reports whether nodes is the snapshot's node list (as in
// every scheduling cycle) rather than a what-if copy.
func (v *nodeView) isSnapshotList(nodes []*framework.NodeInfo) bool {
	return v != nil && v.snap != nil && len(nodes) == len(v.snap.List) && (len(nodes) == 0 || nodes[0] == v.snap.List[0])
}

// withLog is of plus, for the snapshot's list, its change log.
func (v *nodeView) withLog(nodes []*framework.NodeInfo) ([]interpod.Node, interpod.ChangeLog) {
	if !v.isSnapshotList(nodes) {
		return asNodes(nodes), nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.list == nil || v.version != v.snap.ListVersion {
		v.list, v.version = asNodes(nodes), v.snap.ListVersion
	}
	return v.list, snapshotLog{v.snap}
}

// forPreFilter returns nodes as interpod sees them and opts with their
// change log, for a PreFilter over nodes.
func (v *nodeView) forPreFilter(nodes []*framework.NodeInfo, opts interpod.Options) ([]interpod.Node, interpod.Options) {
	list, log := v.withLog(nodes)
	opts.Changes = log
	return list, opts
}

// snapshotLog offers the snapshot's change log to an interpod Index.
type snapshotLog struct{ snap *framework.Snapshot }

// Current implements interpod.ChangeLog.
func (l snapshotLog) Current() (int64, int64) { return l.snap.ListVersion, l.snap.Generation }

// ChangesSince implements interpod.ChangeLog.
func (l snapshotLog) ChangesSince(version, gen int64, fn func(pos int)) bool {
	changes, ok := l.snap.ChangedSince(version, gen)
	for _, c := range changes {
		fn(int(c.Pos))
	}
	return ok
}

func asNodes(nodes []*framework.NodeInfo) []interpod.Node {
	out := make([]interpod.Node, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out
}

// InterPodAffinity adapts the interpod package's affinity rules. The
// per-pod state is built in PreFilter over all nodes and reused by Score;
// an Index shared across cycles avoids rescanning every pod.
type InterPodAffinity struct {
	opts  interpod.Options
	nodes *nodeView
}

// NewInterPodAffinity returns the plugin with its own index.
func NewInterPodAffinity(o InterpodOptions) *InterPodAffinity {
	return &InterPodAffinity{
		opts:  interpod.Options{NamespaceLabels: o.NamespaceLabels, Parallelism: o.Parallelism, Index: interpod.NewIndex()},
		nodes: &nodeView{snap: o.Snapshot},
	}
}

const affinityKey framework.StateKey = "PreFilter" + NameInterPodAffinity

// NodeInfo offers interpod the generation its Index uses to skip
// unchanged nodes.
var _ interpod.Generationer = (*framework.NodeInfo)(nil)

var (
	_ framework.PreFilterExtensions = (*InterPodAffinity)(nil)
	_ framework.PreFilterPlugin     = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin        = (*InterPodAffinity)(nil)
	_ framework.PreScorePlugin      = (*InterPodAffinity)(nil)
	_ framework.ScorePlugin         = (*InterPodAffinity)(nil)
)

// Name implements framework.Plugin.
func (*InterPodAffinity) Name() string { return NameInterPodAffinity }

// HasPodAffinity reports whether the pod has any pod (anti-)affinity.
func HasPodAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	return a != nil && (a.PodAffinity != nil || a.PodAntiAffinity != nil)
}

// PreFilter builds the affinity state, or skips the plugin when neither
// the pod nor any existing pod has affinity terms that could matter.
func (p *InterPodAffinity) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if !HasPodAffinity(pod) && !p.nodes.anyRequiredAntiAffinity(nodes) {
		return framework.NewStatus(framework.Skip)
	}
	list, opts := p.nodes.forPreFilter(nodes, p.opts)
	s, err := interpod.PreFilterAffinityWith(pod, list, opts)
	if err != nil {
		return framework.AsStatus(err)
	}
	state.Write(affinityKey, affinityData{s})
	return nil
}

// affinityData is the cycle state of InterPodAffinity; it clones for
// preemption what-ifs.
type affinityData struct{ *interpod.AffinityState }

// Clone implements framework.StateCloner.
func (d affinityData) Clone() framework.StateData { return affinityData{d.AffinityState.Clone()} }

// AddPod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) AddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, add *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	if d, err := state.Read(affinityKey); err == nil {
		d.(affinityData).AddPod(add.Pod, n)
	}
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (p *InterPodAffinity) RemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, rm *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	if d, err := state.Read(affinityKey); err == nil {
		d.(affinityData).RemovePod(rm.Pod, n)
	}
	return nil
}

// anyRequiredAntiAffinity reports whether a node has pods with required
// anti-affinity, from the snapshot's list of such nodes when nodes is the
// snapshot's node list (every cycle), not a walk of 5,000 nodes per pod.
func (v *nodeView) anyRequiredAntiAffinity(nodes []*framework.NodeInfo) bool {
	if v.isSnapshotList(nodes) {
		return len(v.snap.WithRequiredAntiAffinity) > 0
	}
	for _, n := range nodes {
		if n.PodsWithRequiredAntiAffinity > 0 {
			return true
		}
	}
	return false
}

// Filter implements framework.FilterPlugin.
func (p *InterPodAffinity) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	d, err := state.Read(affinityKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	ok, reason := d.(affinityData).Filter(pod, n)
	if ok {
		return nil
	}
	code := framework.Unschedulable
	if interpod.Unresolvable(reason) {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, reason)
}

// PreScore skips pods whose PreFilter was skipped or that have no
// preferred terms to score.
func (p *InterPodAffinity) PreScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	if _, err := state.Read(affinityKey); err != nil {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score implements framework.ScorePlugin.
func (p *InterPodAffinity) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(affinityKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return d.(affinityData).Score(pod, n), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *InterPodAffinity) ScoreExtensions() framework.ScoreExtensions {
	return sliceNormalizer(interpod.NormalizeAffinityScores)
}

// sliceNormalizer adapts interpod's []int64 normalizers.
type sliceNormalizer func([]int64)

func (f sliceNormalizer) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, s []framework.NodeScore) *framework.Status {
	raw := make([]int64, len(s))
	for i := range s {
		raw[i] = s[i].Score
	}
	f(raw)
	for i := range s {
		s[i].Score = raw[i]
	}
	return nil
}

// PodTopologySpread adapts the interpod package's topology spread rules:
// the pod's own constraints, or for pods of ReplicaSets,
// ReplicationControllers and StatefulSets without constraints upstream's
// system defaults (zone and hostname, ScheduleAnyway).
type PodTopologySpread struct {
	opts  interpod.Options
	nodes *nodeView
}

// NewPodTopologySpread returns the plugin with its own index.
func NewPodTopologySpread(o InterpodOptions) *PodTopologySpread {
	return &PodTopologySpread{
		opts: interpod.Options{NamespaceLabels: o.NamespaceLabels, Parallelism: o.Parallelism, Index: interpod.NewIndex(),
			DisableDefaultSpread: o.DisableDefaultSpread},
		nodes: &nodeView{snap: o.Snapshot},
	}
}

const spreadKey framework.StateKey = "PreFilter" + NamePodTopologySpread

var (
	_ framework.PreFilterExtensions = (*PodTopologySpread)(nil)
	_ framework.PreFilterPlugin     = (*PodTopologySpread)(nil)
	_ framework.FilterPlugin        = (*PodTopologySpread)(nil)
	_ framework.PreScorePlugin      = (*PodTopologySpread)(nil)
	_ framework.ScorePlugin         = (*PodTopologySpread)(nil)
)

// Name implements framework.Plugin.
func (*PodTopologySpread) Name() string { return NamePodTopologySpread }

// hasHardConstraints reports DoNotSchedule constraints, the only ones
// Filter checks.
func hasHardConstraints(pod *corev1.Pod) bool {
	for i := range pod.Spec.TopologySpreadConstraints {
		if pod.Spec.TopologySpreadConstraints[i].WhenUnsatisfiable != corev1.ScheduleAnyway {
			return true
		}
	}
	return false
}

// PreFilter builds the spread state. Filter is skipped for pods without
// DoNotSchedule constraints (their state only scores), which also lets
// them share filter verdicts across an equivalence class.
func (p *PodTopologySpread) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	if len(pod.Spec.TopologySpreadConstraints) == 0 && (p.opts.DisableDefaultSpread || interpod.DefaultOwnerSelector(pod) == nil) {
		return framework.NewStatus(framework.Skip)
	}
	list, opts := p.nodes.forPreFilter(nodes, p.opts)
	s, err := interpod.PreFilterSpreadWith(pod, list, opts)
	if err != nil {
		return framework.AsStatus(err)
	}
	state.Write(spreadKey, spreadData{s})
	if !hasHardConstraints(pod) {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// spreadData is the cycle state of PodTopologySpread; it clones for
// preemption what-ifs.
type spreadData struct{ *interpod.SpreadState }

// Clone implements framework.StateCloner.
func (d spreadData) Clone() framework.StateData { return spreadData{d.SpreadState.Clone()} }

// AddPod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) AddPod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, add *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	if d, err := state.Read(spreadKey); err == nil {
		d.(spreadData).AddPod(add.Pod, n)
	}
	return nil
}

// RemovePod implements framework.PreFilterExtensions.
func (p *PodTopologySpread) RemovePod(_ context.Context, state *framework.CycleState, _ *corev1.Pod, rm *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	if d, err := state.Read(spreadKey); err == nil {
		d.(spreadData).RemovePod(rm.Pod, n)
	}
	return nil
}

// Filter implements framework.FilterPlugin.
func (p *PodTopologySpread) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	d, err := state.Read(spreadKey)
	if err != nil {
		return framework.AsStatus(err)
	}
	ok, reason := d.(spreadData).Filter(pod, n)
	if ok {
		return nil
	}
	code := framework.Unschedulable
	if interpod.Unresolvable(reason) {
		code = framework.UnschedulableAndUnresolvable
	}
	return framework.NewStatus(code, reason)
}

// PreScore recomputes domain weights over the feasible nodes, or skips
// pods without a spread state.
func (p *PodTopologySpread) PreScore(_ context.Context, state *framework.CycleState, _ *corev1.Pod, nodes []*framework.NodeInfo) *framework.Status {
	d, err := state.Read(spreadKey)
	if err != nil {
		return framework.NewStatus(framework.Skip)
	}
	d.(spreadData).PreScore(asNodes(nodes))
	return nil
}

// Score implements framework.ScorePlugin.
func (p *PodTopologySpread) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	d, err := state.Read(spreadKey)
	if err != nil {
		return 0, framework.AsStatus(err)
	}
	return d.(spreadData).Score(pod, n), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (p *PodTopologySpread) ScoreExtensions() framework.ScoreExtensions {
	return sliceNormalizer(interpod.NormalizeSpreadScores)
}
