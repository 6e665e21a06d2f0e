package scheduler

import (
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
)

// nominator remembers which pending pods preemption nominated to which
// node (upstream's PodNominator), so that filters keep room for them
// until their victims are gone. Safe for concurrent use; the filter hot
// path only reads an atomic counter while nobody is nominated.
type nominator struct {
	count atomic.Int64 // number of nominated pods

	mu     sync.RWMutex // guards byNode and byUID
	byNode map[string][]*framework.PodInfo
	byUID  map[types.UID]string
}

var _ framework.NominatedPods = (*nominator)(nil)

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, byUID: map[types.UID]string{}}
}

// NominatedPodsForNode implements framework.NominatedPods. The slice is a
// copy.
func (n *nominator) NominatedPodsForNode(node string) []*framework.PodInfo {
	if n.count.Load() == 0 {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(n.byNode[node]) == 0 {
		return nil
	}
	return append([]*framework.PodInfo(nil), n.byNode[node]...)
}

// add nominates pod to node, replacing an earlier nomination; node ""
// just removes it.
func (n *nominator) add(pod *corev1.Pod, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(pod.UID)
	if node == "" {
		return
	}
	n.byNode[node] = append(n.byNode[node], framework.NewPodInfo(pod))
	n.byUID[pod.UID] = node
	n.count.Add(1)
}

// remove drops a pod's nomination, if any.
func (n *nominator) remove(uid types.UID) {
	if n.count.Load() == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.deleteLocked(uid)
}

func (n *nominator) deleteLocked(uid types.UID) {
	node, ok := n.byUID[uid]
	if !ok {
		return
	}
	delete(n.byUID, uid)
	pods := n.byNode[node]
	for i, pi := range pods {
		if pi.Pod.UID == uid {
			pods = append(pods[:i], pods[i+1:]...)
			break
		}
	}
	if len(pods) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = pods
	}
	n.count.Add(-1)
}

// update follows a pending pod's informer update: a nomination in its
// status wins; one cleared in the status is dropped; otherwise an
// in-memory nomination made before the status patch arrived is kept, with
// the newer pod object.
func (n *nominator) update(old, pod *corev1.Pod) {
	switch {
	case pod.Status.NominatedNodeName != "":
		n.add(pod, pod.Status.NominatedNodeName)
	case old != nil && old.Status.NominatedNodeName != "":
		n.remove(pod.UID)
	default:
		if node := n.nodeOf(pod.UID); node != "" {
			n.add(pod, node)
		}
	}
}

// nodeOf returns the node a pod is nominated to, or "".
func (n *nominator) nodeOf(uid types.UID) string {
	if n.count.Load() == 0 {
		return ""
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.byUID[uid]
}

// lowerPriority returns the pods nominated to node with priority below
// prio (upstream clears their nominations when a preemptor takes the
// node).
func (n *nominator) lowerPriority(node string, prio int32) []*corev1.Pod {
	var out []*corev1.Pod
	for _, pi := range n.NominatedPodsForNode(node) {
		if framework.PodPriority(pi.Pod) < prio {
			out = append(out, pi.Pod)
		}
	}
	return out
}
