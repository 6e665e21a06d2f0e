// Package interpod implements the scheduler's pod-to-pod placement rules:
// inter-pod affinity and anti-affinity (upstream InterPodAffinity plugin) and
// topology spread constraints (upstream PodTopologySpread plugin), with
// upstream's semantics and reason strings.
//
// Both follow the same shape so the scheduler runtime can wire them in as
// plugins: a PreFilter* function looks at the node snapshot once per pod per
// scheduling cycle and builds a state indexed by topology domain; the
// state's Filter and Score methods then answer per node with a few map
// lookups; Normalize* rescales raw scores to 0..100. Clone, AddPod and
// RemovePod support preemption what-ifs.
//
// Without an Index, PreFilter scans every pod of every node (in parallel).
// With an Index (Options.Index), shared across cycles, pods are indexed by
// namespace and label and existing pods' terms are grouped, so PreFilter
// costs about the number of pods its selectors match rather than the
// cluster's pod count. The Index follows the snapshot itself by diffing the
// node list (cheaply when nodes implement Generationer).
//
// The package depends only on the narrow Node interface, not on the
// scheduler's cache, so it can be tested and benchmarked on its own.
package interpod
