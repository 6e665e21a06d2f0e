package scheduler

import (
	"encoding/json"
	"hash/fnv"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"kplane/internal/scheduler/framework"
)

// eqEntry caches one equivalence class's filter verdicts by node position
// in the snapshot list; a verdict is valid while the node's generation is
// unchanged.
type eqEntry struct {
	listVersion int64
	gens        []int64
	statuses    []*framework.Status
}

// equivalenceCache maps class keys to entries, holding at most max
// classes (it is cleared when full: classes are typically the few
// workloads currently being scaled up).
type equivalenceCache struct {
	max     int
	entries map[string]*eqEntry
}

func newEquivalenceCache(max int) *equivalenceCache {
	return &equivalenceCache{max: max, entries: map[string]*eqEntry{}}
}

// get returns the class's entry for the current node list, or nil for no
// class.
func (c *equivalenceCache) get(class string, listVersion int64, n int) *eqEntry {
	if class == "" || c == nil {
		return nil
	}
	e := c.entries[class]
	if e == nil || e.listVersion != listVersion || len(e.gens) != n {
		if e == nil && len(c.entries) >= c.max {
			clear(c.entries)
		}
		e = &eqEntry{listVersion: listVersion, gens: make([]int64, n), statuses: make([]*framework.Status, n)}
		for i := range e.gens {
			e.gens[i] = -1
		}
		c.entries[class] = e
	}
	return e
}

// schedulingSpec is what filter verdicts depend on.
type schedulingSpec struct {
	NodeSelector   map[string]string                 `json:"ns,omitempty"`
	Affinity       *corev1.Affinity                  `json:"a,omitempty"`
	Tolerations    []corev1.Toleration               `json:"t,omitempty"`
	Spread         []corev1.TopologySpreadConstraint `json:"s,omitempty"`
	NodeName       string                            `json:"n,omitempty"`
	Overhead       corev1.ResourceList               `json:"o,omitempty"`
	PodResources   *corev1.ResourceRequirements      `json:"pr,omitempty"`
	Containers     []containerSpec                   `json:"c,omitempty"`
	InitContainers []containerSpec                   `json:"i,omitempty"`
}

type containerSpec struct {
	Requests      corev1.ResourceList            `json:"r,omitempty"`
	Ports         []corev1.ContainerPort         `json:"p,omitempty"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"rp,omitempty"`
}

// EquivalenceClass keys pods of one controller with the same
// scheduling-relevant spec; pods without a controller have no class.
func EquivalenceClass(pod *corev1.Pod) string {
	var owner string
	for _, r := range pod.OwnerReferences {
		if r.Controller != nil && *r.Controller {
			owner = string(r.UID)
			break
		}
	}
	if owner == "" {
		return ""
	}
	s := schedulingSpec{
		NodeSelector: pod.Spec.NodeSelector, Affinity: pod.Spec.Affinity, Tolerations: pod.Spec.Tolerations,
		Spread: pod.Spec.TopologySpreadConstraints, NodeName: pod.Spec.NodeName, Overhead: pod.Spec.Overhead,
		PodResources: pod.Spec.Resources,
	}
	for _, c := range pod.Spec.Containers {
		s.Containers = append(s.Containers, containerSpec{Requests: c.Resources.Requests, Ports: c.Ports})
	}
	for _, c := range pod.Spec.InitContainers {
		s.InitContainers = append(s.InitContainers, containerSpec{Requests: c.Resources.Requests, Ports: c.Ports, RestartPolicy: c.RestartPolicy})
	}
	b, err := json.Marshal(s)
	if err != nil {
		return ""
	}
	h := fnv.New64a()
	_, _ = h.Write(b)
	return owner + "/" + strconv.FormatUint(h.Sum64(), 16)
}
