package scheduler

import (
	"fmt"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
)

// nodeItem is a NodeInfo in the cache's recency list: the most recently
// changed item is at the head, so UpdateSnapshot walks only the changed
// prefix (upstream's generation-based update).
type nodeItem struct {
	info       *framework.NodeInfo
	prev, next *nodeItem
}

// podState is a pod the cache accounts to a node.
type podState struct {
	pod *corev1.Pod
	// assumed pods were placed by this scheduler and not yet confirmed by
	// the informer; deadline is set once binding finished, after which an
	// unconfirmed assumption expires.
	assumed  bool
	deadline time.Time
}

// Cache is the scheduler's view of nodes and the pods on them, including
// assumed pods. All methods are safe for concurrent use.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex // guards everything below
	nodes map[string]*nodeItem
	head  *nodeItem
	pods  map[types.UID]*podState
	// generation counts changes; listGeneration is the generation of the
	// last change to the set of nodes with a node object.
	generation, listGeneration int64
	// nodeCount is the number of items with a node object.
	nodeCount int
	// changedBuf is UpdateSnapshot's reused scratch slice.
	changedBuf []*framework.NodeInfo
}

// NewCache returns an empty cache whose bound-but-unconfirmed assumed pods
// expire ttl after binding finished (0 means never).
func NewCache(ttl time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{ttl: ttl, now: now, nodes: map[string]*nodeItem{}, pods: map[types.UID]*podState{}}
}

// touch bumps an item's generation and moves it to the head.
func (c *Cache) touch(it *nodeItem) {
	c.generation++
	it.info.SetGeneration(c.generation)
	if c.head == it {
		return
	}
	if it.prev != nil {
		it.prev.next = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	it.prev, it.next = nil, c.head
	if c.head != nil {
		c.head.prev = it
	}
	c.head = it
}

func (c *Cache) unlink(it *nodeItem) {
	if it.prev != nil {
		it.prev.next = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	}
	if c.head == it {
		c.head = it.next
	}
	it.prev, it.next = nil, nil
}

func (c *Cache) item(name string) *nodeItem {
	it := c.nodes[name]
	if it == nil {
		it = &nodeItem{info: framework.NewNodeInfo()}
		c.nodes[name] = it
	}
	return it
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.item(node.Name)
	if it.info.Node() == nil {
		c.nodeCount++
		c.listGeneration = c.generation + 1
	}
	it.info.SetNode(node)
	c.touch(it)
}

// UpdateNode is AddNode.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

// RemoveNode drops a node; its pods stay until they are deleted.
func (c *Cache) RemoveNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := c.nodes[name]
	if it == nil || it.info.Node() == nil {
		return
	}
	c.nodeCount--
	c.listGeneration = c.generation + 1
	it.info.RemoveNode()
	if len(it.info.PodInfos) == 0 {
		c.unlink(it)
		delete(c.nodes, name)
		c.generation++
		return
	}
	c.touch(it)
}

func (c *Cache) addPodLocked(pod *corev1.Pod, assumed bool) {
	it := c.item(pod.Spec.NodeName)
	it.info.AddPodInfo(framework.NewPodInfo(pod))
	c.pods[pod.UID] = &podState{pod: pod, assumed: assumed}
	c.touch(it)
}

func (c *Cache) removePodLocked(pod *corev1.Pod) {
	delete(c.pods, pod.UID)
	it := c.nodes[pod.Spec.NodeName]
	if it == nil || !it.info.RemovePod(pod.UID) {
		return
	}
	if it.info.Node() == nil && len(it.info.PodInfos) == 0 {
		c.unlink(it)
		delete(c.nodes, pod.Spec.NodeName)
		c.generation++
		return
	}
	c.touch(it)
}

// AssumePod accounts pod (with spec.nodeName set) before it is bound.
func (c *Cache) AssumePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("assume pod %s/%s: %w", pod.Namespace, pod.Name, errAlreadyInCache)
	}
	c.addPodLocked(pod, true)
	return nil
}

// FinishBinding starts the expiry clock of an assumed pod.
func (c *Cache) FinishBinding(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.pods[pod.UID]; ps != nil && ps.assumed && c.ttl > 0 {
		ps.deadline = c.now().Add(c.ttl)
	}
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.pods[pod.UID]; ps != nil && ps.assumed {
		c.removePodLocked(ps.pod)
	}
}

// AddPod accounts an assigned pod seen by the informer, confirming an
// assumption (possibly on another node than assumed).
func (c *Cache) AddPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.pods[pod.UID]; ps != nil {
		c.removePodLocked(ps.pod)
	}
	c.addPodLocked(pod, false)
}

// UpdatePod replaces a pod's accounting.
func (c *Cache) UpdatePod(pod *corev1.Pod) { c.AddPod(pod) }

// RemovePod drops a pod.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps := c.pods[pod.UID]; ps != nil {
		c.removePodLocked(ps.pod)
	}
}

// IsAssumed reports whether a pod is assumed and unconfirmed.
func (c *Cache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.pods[uid]
	return ps != nil && ps.assumed
}

// Has reports whether the cache accounts the pod (assumed or assigned).
func (c *Cache) Has(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[uid] != nil
}

// CleanupExpired drops assumed pods whose binding finished more than ttl
// ago without the informer confirming them.
func (c *Cache) CleanupExpired() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, n := c.now(), 0
	for _, ps := range c.pods {
		if ps.assumed && !ps.deadline.IsZero() && now.After(ps.deadline) {
			c.removePodLocked(ps.pod)
			n++
		}
	}
	return n
}

// NodeCount is the number of nodes with a node object.
func (c *Cache) NodeCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodeCount
}

// UpdateSnapshot brings s up to date, cloning only the NodeInfos that
// changed since s.Generation and rebuilding s.List only when nodes were
// added or removed.
func (c *Cache) UpdateSnapshot(s *framework.Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rebuildList := c.listGeneration > s.Generation
	rebuildAnti := false
	// changed collects NodeInfos updated in place, newest first, for the
	// snapshot's change log.
	changed := c.changedBuf[:0]
	for it := c.head; it != nil && it.info.Generation() > s.Generation; it = it.next {
		name := it.info.Name()
		if name == "" {
			name = nodeNameOf(it.info)
		}
		clone := it.info.Clone()
		if existing := s.Map[name]; existing != nil {
			if existing.PodsWithRequiredAntiAffinity != clone.PodsWithRequiredAntiAffinity {
				rebuildAnti = true
			}
			*existing = *clone
			changed = append(changed, existing)
		} else {
			s.Map[name] = clone
			rebuildList = true
			rebuildAnti = rebuildAnti || clone.PodsWithRequiredAntiAffinity > 0
		}
	}
	if rebuildList || len(s.Map) > len(c.nodes) {
		for name := range s.Map {
			if _, ok := c.nodes[name]; !ok {
				delete(s.Map, name)
				rebuildList, rebuildAnti = true, true
			}
		}
	}
	if rebuildList {
		s.List = s.List[:0]
		for _, ni := range s.Map {
			if ni.Node() != nil {
				s.List = append(s.List, ni)
			}
		}
		sort.Slice(s.List, func(i, j int) bool { return s.List[i].Name() < s.List[j].Name() })
		s.ListVersion++
		rebuildAnti = true
	}
	if rebuildAnti {
		s.WithRequiredAntiAffinity = s.WithRequiredAntiAffinity[:0]
		for _, ni := range s.List {
			if ni.PodsWithRequiredAntiAffinity > 0 {
				s.WithRequiredAntiAffinity = append(s.WithRequiredAntiAffinity, ni)
			}
		}
	}
	s.Generation = c.generation
	if rebuildList {
		s.ResetChanges()
	} else {
		for i := len(changed) - 1; i >= 0; i-- {
			s.LogChange(changed[i])
		}
	}
	clear(changed)
	c.changedBuf = changed[:0]
}

// nodeNameOf names a pods-only NodeInfo by its pods' spec.nodeName.
func nodeNameOf(ni *framework.NodeInfo) string {
	if pods := ni.Pods(); len(pods) > 0 {
		return pods[0].Spec.NodeName
	}
	return ""
}
