// Package interpod implements the scheduler's pod-to-pod placement rules:
// inter-pod affinity and anti-affinity (upstream InterPodAffinity plugin) and
// topology spread constraints (upstream PodTopologySpread plugin).
//
// Both follow the same shape so the scheduler runtime can wire them in as
// plugins: a PreFilter* function scans the node snapshot once per pod per
// scheduling cycle and builds a state indexed by topology pair; the state's
// Filter and Score methods then answer per node in O(terms) without touching
// other nodes' pods; Normalize* rescales raw scores to 0..100. AddPod and
// RemovePod update a state incrementally for preemption what-if evaluation.
//
// The package depends only on the narrow Node interface, not on the
// scheduler's cache, so it can be tested and benchmarked on its own.
package interpod
