package plugins

import (
	"context"
	"math"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
)

// Fit is NodeResourcesFit: it filters nodes without room for the pod's
// requests and scores by the LeastAllocated strategy (cpu and memory,
// weight 1 each, upstream's default).
type Fit struct{}

var (
	_ framework.PreFilterPlugin = Fit{}
	_ framework.FilterPlugin    = Fit{}
	_ framework.ScorePlugin     = Fit{}
)

const fitKey framework.StateKey = "PreFilter" + NameNodeResourcesFit

// podResources is what PreFilter computes once per pod.
type podResources struct {
	req                       *framework.Resource
	nonZeroCPU, nonZeroMemory int64
}

// Name implements framework.Plugin.
func (Fit) Name() string { return NameNodeResourcesFit }

// PreFilter computes the pod's requests once for all nodes.
func (Fit) PreFilter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	state.Write(fitKey, computePodResources(pod))
	return nil
}

func computePodResources(pod *corev1.Pod) *podResources {
	r := &podResources{req: framework.PodRequests(pod)}
	r.nonZeroCPU, r.nonZeroMemory = framework.NonZeroRequests(pod)
	return r
}

func readPodResources(state *framework.CycleState, pod *corev1.Pod) *podResources {
	if d, err := state.Read(fitKey); err == nil {
		return d.(*podResources)
	}
	return computePodResources(pod)
}

// Filter implements framework.FilterPlugin.
func (Fit) Filter(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	return FitsRequest(readPodResources(state, pod).req, n)
}

// FitsRequest checks req against the node's free resources and returns
// upstream's reasons ("Too many pods", "Insufficient cpu", ...). The
// status is UnschedulableAndUnresolvable when a request exceeds the
// node's whole allocatable amount, so preemption skips the node.
func FitsRequest(req *framework.Resource, n *framework.NodeInfo) *framework.Status {
	var reasons []string
	code := framework.Unschedulable
	alloc, used := n.Allocatable, n.Requested
	if int64(len(n.PodInfos))+1 > alloc.AllowedPodNumber {
		reasons = append(reasons, ReasonTooManyPods)
	}
	if req.IsZero() && len(reasons) == 0 {
		return nil
	}
	check := func(name string, want, free, total int64) {
		if want > 0 && want > free {
			reasons = append(reasons, "Insufficient "+name)
			if want > total {
				code = framework.UnschedulableAndUnresolvable
			}
		}
	}
	check(string(corev1.ResourceCPU), req.MilliCPU, alloc.MilliCPU-used.MilliCPU, alloc.MilliCPU)
	check(string(corev1.ResourceMemory), req.Memory, alloc.Memory-used.Memory, alloc.Memory)
	check(string(corev1.ResourceEphemeralStorage), req.EphemeralStorage, alloc.EphemeralStorage-used.EphemeralStorage, alloc.EphemeralStorage)
	for name, want := range req.Scalar {
		check(string(name), want, alloc.Scalar[name]-used.Scalar[name], alloc.Scalar[name])
	}
	if len(reasons) == 0 {
		return nil
	}
	return framework.NewStatus(code, reasons...)
}

// Score is LeastAllocated over cpu and memory with the non-zero request
// defaults: the mean of (allocatable-requested)*100/allocatable.
func (Fit) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	r := readPodResources(state, pod)
	cpu := leastRequested(n.NonZeroRequested.MilliCPU+r.nonZeroCPU, n.Allocatable.MilliCPU)
	mem := leastRequested(n.NonZeroRequested.Memory+r.nonZeroMemory, n.Allocatable.Memory)
	return (cpu + mem) / 2, nil
}

func leastRequested(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * framework.MaxNodeScore / capacity
}

// ScoreExtensions implements framework.ScorePlugin.
func (Fit) ScoreExtensions() framework.ScoreExtensions { return nil }

// BalancedAllocation prefers nodes whose cpu and memory utilization
// (counting the pod) are close to each other.
type BalancedAllocation struct{}

var (
	_ framework.PreScorePlugin = BalancedAllocation{}
	_ framework.ScorePlugin    = BalancedAllocation{}
)

// Name implements framework.Plugin.
func (BalancedAllocation) Name() string { return NameBalancedAllocation }

// PreScore skips pods that request neither cpu nor memory, as upstream.
func (BalancedAllocation) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo) *framework.Status {
	r := readPodResources(state, pod)
	if r.req.MilliCPU == 0 && r.req.Memory == 0 {
		return framework.NewStatus(framework.Skip)
	}
	return nil
}

// Score is (1 - |cpuFraction - memFraction| / 2) * 100 with fractions
// capped at 1.
func (BalancedAllocation) Score(_ context.Context, state *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	r := readPodResources(state, pod)
	var fractions [2]float64
	k := 0
	for _, x := range [2][2]int64{
		{n.Requested.MilliCPU + r.req.MilliCPU, n.Allocatable.MilliCPU},
		{n.Requested.Memory + r.req.Memory, n.Allocatable.Memory},
	} {
		if x[1] == 0 {
			continue
		}
		fractions[k] = math.Min(float64(x[0])/float64(x[1]), 1)
		k++
	}
	std := 0.0
	if k == 2 {
		std = math.Abs((fractions[0] - fractions[1]) / 2)
	}
	return int64((1 - std) * float64(framework.MaxNodeScore)), nil
}

// ScoreExtensions implements framework.ScorePlugin.
func (BalancedAllocation) ScoreExtensions() framework.ScoreExtensions { return nil }
