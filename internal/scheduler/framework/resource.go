package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// Non-zero defaults used by scoring for containers without requests, as
// upstream (100m CPU, 200MiB memory), so empty pods still spread.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resource is an amount of each schedulable resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the node's pod capacity (allocatable "pods").
	AllowedPodNumber int64
	// Scalar holds extended resources, hugepages and the like.
	Scalar map[corev1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl corev1.ResourceList) *Resource {
	r := &Resource{}
	r.Add(rl)
	return r
}

// Add adds every quantity of rl.
func (r *Resource) Add(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if isScalar(name) {
				r.addScalar(name, q.Value())
			}
		}
	}
}

func (r *Resource) addScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[corev1.ResourceName]int64{}
	}
	r.Scalar[name] += v
}

// isScalar is upstream's IsScalarResourceName: extended (domain-prefixed,
// not kubernetes.io/), hugepages-*, attachable-volumes-* and native
// kubernetes.io/ resources other than the fixed four.
func isScalar(name corev1.ResourceName) bool {
	s := string(name)
	if len(s) >= 10 && s[:10] == "hugepages-" {
		return true
	}
	if len(s) >= 19 && s[:19] == "attachable-volumes-" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

// AddResource adds o to r.
func (r *Resource) AddResource(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.addScalar(k, v)
	}
}

// SubResource subtracts o from r.
func (r *Resource) SubResource(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.addScalar(k, -v)
	}
}

// maxWith sets each field of r to the larger of r and o.
func (r *Resource) maxWith(o *Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if v > r.Scalar[k] {
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[k] = v
		}
	}
}

// Clone deep-copies r.
func (r *Resource) Clone() *Resource {
	c := *r
	if r.Scalar != nil {
		c.Scalar = make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			c.Scalar[k] = v
		}
	}
	return &c
}

// IsZero reports a request for nothing.
func (r *Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// PodRequests computes what a pod needs on a node, as upstream's
// resourcehelper.PodRequests: the sum of the app containers and
// restartable (sidecar) init containers, or the largest need of any
// regular init container plus the sidecars started before it, whichever
// is larger; then the pod overhead. Pod-level requests, when set, replace
// the container sum for cpu and memory.
func PodRequests(pod *corev1.Pod) *Resource {
	reqs := &Resource{}
	for i := range pod.Spec.Containers {
		reqs.Add(pod.Spec.Containers[i].Resources.Requests)
	}
	sidecars := &Resource{}
	initMax := &Resource{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			reqs.Add(c.Resources.Requests)
			sidecars.Add(c.Resources.Requests)
			initMax.maxWith(sidecars)
			continue
		}
		need := sidecars.Clone()
		need.Add(c.Resources.Requests)
		initMax.maxWith(need)
	}
	reqs.maxWith(initMax)
	if pr := pod.Spec.Resources; pr != nil {
		if q, ok := pr.Requests[corev1.ResourceCPU]; ok {
			reqs.MilliCPU = q.MilliValue()
		}
		if q, ok := pr.Requests[corev1.ResourceMemory]; ok {
			reqs.Memory = q.Value()
		}
	}
	reqs.Add(pod.Spec.Overhead)
	reqs.AllowedPodNumber = 0
	return reqs
}

// NonZeroRequests is the pod's cpu and memory with upstream's scoring
// defaults substituted for containers that request none.
func NonZeroRequests(pod *corev1.Pod) (milliCPU, memory int64) {
	var cpu, mem int64
	for i := range pod.Spec.Containers {
		c, m := nonZero(pod.Spec.Containers[i].Resources.Requests)
		cpu += c
		mem += m
	}
	var sideCPU, sideMem, initCPU, initMem int64
	for i := range pod.Spec.InitContainers {
		ic := &pod.Spec.InitContainers[i]
		c, m := nonZero(ic.Resources.Requests)
		if ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			cpu += c
			mem += m
			sideCPU += c
			sideMem += m
			initCPU, initMem = max(initCPU, sideCPU), max(initMem, sideMem)
			continue
		}
		initCPU, initMem = max(initCPU, sideCPU+c), max(initMem, sideMem+m)
	}
	cpu, mem = max(cpu, initCPU), max(mem, initMem)
	if pr := pod.Spec.Resources; pr != nil {
		if q, ok := pr.Requests[corev1.ResourceCPU]; ok {
			cpu = q.MilliValue()
		}
		if q, ok := pr.Requests[corev1.ResourceMemory]; ok {
			mem = q.Value()
		}
	}
	if q, ok := pod.Spec.Overhead[corev1.ResourceCPU]; ok {
		cpu += q.MilliValue()
	}
	if q, ok := pod.Spec.Overhead[corev1.ResourceMemory]; ok {
		mem += q.Value()
	}
	return cpu, mem
}

func nonZero(rl corev1.ResourceList) (int64, int64) {
	cpu, mem := DefaultMilliCPURequest, DefaultMemoryRequest
	if q, ok := rl[corev1.ResourceCPU]; ok {
		cpu = q.MilliValue()
	}
	if q, ok := rl[corev1.ResourceMemory]; ok {
		mem = q.Value()
	}
	return cpu, mem
}
