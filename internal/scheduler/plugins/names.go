package plugins

// Plugin names as upstream, used in configuration and metrics.
const (
	NameNodeResourcesFit   = "NodeResourcesFit"
	NameBalancedAllocation = "NodeResourcesBalancedAllocation"
	NameNodeName           = "NodeName"
	NameNodeUnschedulable  = "NodeUnschedulable"
	NameTaintToleration    = "TaintToleration"
	NameNodeAffinity       = "NodeAffinity"
	NameNodePorts          = "NodePorts"
	NameInterPodAffinity   = "InterPodAffinity"
	NamePodTopologySpread  = "PodTopologySpread"
	NameDefaultPreemption  = "DefaultPreemption"
	NameDefaultBinder      = "DefaultBinder"
)

// Filter reasons, exactly as upstream's plugins report them.
const (
	ReasonNodeName          = "node(s) didn't match the requested node name"
	ReasonUnschedulable     = "node(s) were unschedulable"
	ReasonNodeAffinity      = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodePorts         = "node(s) didn't have free ports for the requested pod ports"
	ReasonTooManyPods       = "Too many pods"
	ReasonPreemptionUseless = "Preemption is not helpful for scheduling"
	ReasonNoVictims         = "No preemption victims found for incoming pod"
)
