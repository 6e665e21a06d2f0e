package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodInfo is a pod with what the scheduler derives from it once: its
// requests (for fit and for scoring) and host ports.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests per PodRequests; NonZeroCPU/NonZeroMemory per
	// NonZeroRequests.
	Requests                  *Resource
	NonZeroCPU, NonZeroMemory int64
	// HostPorts are the container ports with a hostPort.
	HostPorts []corev1.ContainerPort
	// RequiredAntiAffinity is set when the pod has required pod
	// anti-affinity terms, which constrain pods scheduled after it.
	RequiredAntiAffinity bool
}

// NewPodInfo computes a pod's scheduling-relevant facts.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{Pod: pod, Requests: PodRequests(pod)}
	pi.NonZeroCPU, pi.NonZeroMemory = NonZeroRequests(pod)
	pi.HostPorts = HostPorts(pod)
	if a := pod.Spec.Affinity; a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
		pi.RequiredAntiAffinity = true
	}
	return pi
}

// HostPorts lists the pod's container ports that claim a host port
// (init containers included, as upstream).
func HostPorts(pod *corev1.Pod) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if p.HostPort > 0 {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// NodeInfo is a node with the pods assigned (or assumed) to it. The cache
// owns live NodeInfos; snapshots hold clones, which a scheduling cycle
// reads without locks.
type NodeInfo struct {
	node *corev1.Node
	// PodInfos are the node's pods; podList mirrors it for Pods().
	PodInfos []*PodInfo
	podList  []*corev1.Pod
	// Requested sums PodRequests of the pods; NonZeroRequested sums the
	// scoring requests (only MilliCPU and Memory are set). They and
	// Allocatable are values, not pointers, so Filter and Score of one node
	// read one object: at 5,000 nodes the pointer chases were cache misses
	// that made LeastAllocated the costliest score.
	Requested, NonZeroRequested Resource
	// Allocatable is the node's status.allocatable.
	Allocatable Resource
	// UsedPorts are the host ports taken by the pods.
	UsedPorts HostPortInfo
	// PodsWithRequiredAntiAffinity counts pods with required anti-affinity.
	PodsWithRequiredAntiAffinity int
	// generation increases on every change, so a snapshot re-clones only
	// NodeInfos that changed since it was last updated.
	generation int64
}

// Generation changes whenever the node or its pods change (set by the
// cache); interpod's Index and the equivalence cache compare it to skip
// unchanged nodes.
func (n *NodeInfo) Generation() int64 { return n.generation }

// SetGeneration is called by the cache on every change.
func (n *NodeInfo) SetGeneration(g int64) { n.generation = g }

// NewNodeInfo returns a NodeInfo holding pods (node set later).
func NewNodeInfo(pods ...*corev1.Pod) *NodeInfo {
	ni := &NodeInfo{UsedPorts: HostPortInfo{}}
	for _, p := range pods {
		ni.AddPodInfo(NewPodInfo(p))
	}
	return ni
}

// Node is the node object (nil for a NodeInfo that only has pods because
// their node was deleted or not yet seen).
func (n *NodeInfo) Node() *corev1.Node { return n.node }

// Pods are the node's pods. The slice is shared: do not modify it.
func (n *NodeInfo) Pods() []*corev1.Pod { return n.podList }

// Name of the node, "" without one.
func (n *NodeInfo) Name() string {
	if n.node == nil {
		return ""
	}
	return n.node.Name
}

// SetNode sets the node and its allocatable resources.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.node = node
	n.Allocatable = *NewResource(node.Status.Allocatable)
}

// RemoveNode clears the node, keeping its pods.
func (n *NodeInfo) RemoveNode() { n.node = nil }

// AddPodInfo accounts a pod to the node.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.PodInfos = append(n.PodInfos, pi)
	n.podList = append(n.podList, pi.Pod)
	n.update(pi, 1)
}

// RemovePod removes the pod with uid, reporting whether it was there.
func (n *NodeInfo) RemovePod(uid types.UID) bool {
	for i, pi := range n.PodInfos {
		if pi.Pod.UID != uid {
			continue
		}
		last := len(n.PodInfos) - 1
		n.PodInfos[i], n.podList[i] = n.PodInfos[last], n.podList[last]
		n.PodInfos[last], n.podList[last] = nil, nil
		n.PodInfos, n.podList = n.PodInfos[:last], n.podList[:last]
		n.update(pi, -1)
		return true
	}
	return false
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.AddResource(pi.Requests)
	} else {
		n.Requested.SubResource(pi.Requests)
	}
	n.NonZeroRequested.MilliCPU += sign * pi.NonZeroCPU
	n.NonZeroRequested.Memory += sign * pi.NonZeroMemory
	if pi.RequiredAntiAffinity {
		n.PodsWithRequiredAntiAffinity += int(sign)
	}
	for _, p := range pi.HostPorts {
		if sign > 0 {
			n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
		} else {
			n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
		}
	}
}

// Clone copies n so the copy can be read while n changes. Pods are shared
// (immutable), slices and maps are copied.
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		node:                         n.node,
		PodInfos:                     append([]*PodInfo(nil), n.PodInfos...),
		podList:                      append([]*corev1.Pod(nil), n.podList...),
		Requested:                    *n.Requested.Clone(),
		NonZeroRequested:             n.NonZeroRequested,
		Allocatable:                  *n.Allocatable.Clone(),
		UsedPorts:                    n.UsedPorts.Clone(),
		PodsWithRequiredAntiAffinity: n.PodsWithRequiredAntiAffinity,
		generation:                   n.generation,
	}
	return c
}

// ProtocolPort is a host port with its protocol.
type ProtocolPort struct {
	Protocol string
	Port     int32
}

// HostPortInfo maps host IP to the ports used on it.
type HostPortInfo map[string]map[ProtocolPort]struct{}

const anyIP = "0.0.0.0"

func sanitize(ip, protocol string) (string, string) {
	if ip == "" {
		ip = anyIP
	}
	if protocol == "" {
		protocol = string(corev1.ProtocolTCP)
	}
	return ip, protocol
}

// Add marks ip:port/protocol used.
func (h HostPortInfo) Add(ip, protocol string, port int32) {
	ip, protocol = sanitize(ip, protocol)
	m := h[ip]
	if m == nil {
		m = map[ProtocolPort]struct{}{}
		h[ip] = m
	}
	m[ProtocolPort{protocol, port}] = struct{}{}
}

// Remove frees ip:port/protocol.
func (h HostPortInfo) Remove(ip, protocol string, port int32) {
	ip, protocol = sanitize(ip, protocol)
	if m := h[ip]; m != nil {
		delete(m, ProtocolPort{protocol, port})
		if len(m) == 0 {
			delete(h, ip)
		}
	}
}

// CheckConflict reports whether ip:port/protocol collides with a used
// port; 0.0.0.0 collides with every IP, as upstream.
func (h HostPortInfo) CheckConflict(ip, protocol string, port int32) bool {
	if port <= 0 {
		return false
	}
	ip, protocol = sanitize(ip, protocol)
	pp := ProtocolPort{protocol, port}
	if ip == anyIP {
		for _, m := range h {
			if _, ok := m[pp]; ok {
				return true
			}
		}
		return false
	}
	for _, key := range [2]string{ip, anyIP} {
		if _, ok := h[key][pp]; ok {
			return true
		}
	}
	return false
}

// Clone deep-copies h.
func (h HostPortInfo) Clone() HostPortInfo {
	c := make(HostPortInfo, len(h))
	for ip, m := range h {
		cm := make(map[ProtocolPort]struct{}, len(m))
		for k := range m {
			cm[k] = struct{}{}
		}
		c[ip] = cm
	}
	return c
}
