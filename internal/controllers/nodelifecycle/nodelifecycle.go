package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Name is the controller's --controllers name.
const Name = "nodelifecycle"

// nodeHealth is what the controller last saw of a node, with the local
// time it saw a heartbeat (avoiding clock skew with kubelets).
type nodeHealth struct {
	probeTimestamp           time.Time
	readyTransitionTimestamp time.Time
	status                   *corev1.NodeStatus
	lease                    *coordinationv1.Lease
}

// Controller marks silent nodes Unknown and taints them for eviction.
type Controller struct {
	client  kubernetes.Interface
	log     *slog.Logger
	opts    Options
	clock   clock.WithTicker
	workers int
	taints  taintPatcher
	metrics *nodeMetrics

	nodeLister  corelisters.NodeLister
	leaseLister coordinationlisters.LeaseLister
	podsOnNode  func(node string) ([]*corev1.Pod, error)
	podLister   corelisters.PodLister
	synced      []cache.InformerSynced

	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder

	// nodeQueue holds nodes whose NoSchedule condition taints need a look.
	nodeQueue workqueue.TypedRateLimitingInterface[string]
	// podQueue holds pods newly bound to a node, to mark them not ready
	// when the node is unhealthy.
	podQueue workqueue.TypedRateLimitingInterface[string]

	healthMu sync.RWMutex // guards health
	health   map[string]*nodeHealth

	// knownNodes is only touched by the monitor loop.
	knownNodes map[string]*corev1.Node

	evictorMu  sync.Mutex // guards zoneStates and tainters
	zoneStates map[string]ZoneState
	tainters   map[string]*rateLimitedQueue

	nodesToRetry sync.Map
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the node lifecycle controller with default Options.
func New(ctx controllers.Context) (controllers.Controller, error) {
	return NewWithOptions(Options{})(ctx)
}

// NewWithOptions returns a constructor using o (zero fields defaulted), so
// the manager can pass the node lifecycle flags through.
func NewWithOptions(o Options) controllers.Constructor {
	return func(ctx controllers.Context) (controllers.Controller, error) {
		return newController(ctx, o)
	}
}

func newController(ctx controllers.Context, o Options) (*Controller, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("node lifecycle options: %w", err)
	}
	clk := ctx.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	log := ctx.Logger
	if log == nil {
		log = slog.Default()
	}
	m, err := newNodeMetrics(ctx.Metrics)
	if err != nil {
		return nil, err
	}
	nodes := ctx.Informers.Core().V1().Nodes()
	leases := ctx.Informers.Coordination().V1().Leases()
	pods := ctx.Informers.Core().V1().Pods()
	podsOnNode, err := addNodeNameIndex(pods.Informer())
	if err != nil {
		return nil, err
	}
	workers := ctx.Workers
	if workers <= 0 {
		workers = 8
	}
	broadcaster := record.NewBroadcaster()
	c := &Controller{
		client: ctx.Client, log: log, opts: o, clock: clk, workers: workers, metrics: m,
		taints:      taintPatcher{client: ctx.Client, clock: clk},
		nodeLister:  nodes.Lister(),
		leaseLister: leases.Lister(),
		podLister:   pods.Lister(),
		podsOnNode:  podsOnNode,
		synced:      []cache.InformerSynced{nodes.Informer().HasSynced, leases.Informer().HasSynced, pods.Informer().HasSynced},
		broadcaster: broadcaster,
		recorder:    broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "node-controller"}),
		nodeQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "node_lifecycle_controller", MetricsProvider: ctx.Queues, Clock: clk}),
		podQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "node_lifecycle_controller_pods", MetricsProvider: ctx.Queues, Clock: clk}),
		health:     map[string]*nodeHealth{},
		knownNodes: map[string]*corev1.Node{},
		zoneStates: map[string]ZoneState{},
		tainters:   map[string]*rateLimitedQueue{},
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.enqueueNode(obj) },
		UpdateFunc: func(_, obj any) { c.enqueueNode(obj) },
		DeleteFunc: func(obj any) {
			if n, ok := nodeFrom(obj); ok {
				c.nodesToRetry.Delete(n.Name)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("node handler: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.podBound(nil, obj) },
		UpdateFunc: func(old, obj any) {
			c.podBound(old, obj)
		},
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return Name }

// Run monitors node health until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	defer c.nodeQueue.ShutDown()
	defer c.podQueue.ShutDown()
	c.log.Info("starting controller", "gracePeriod", c.opts.NodeMonitorGracePeriod, "monitorPeriod", c.opts.NodeMonitorPeriod)
	defer c.log.Info("shutting down controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return errors.New("caches did not sync")
	}
	var wg sync.WaitGroup
	run := func(f func(context.Context), period time.Duration) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait.UntilWithContext(ctx, f, period)
		}()
	}
	for i := 0; i < c.workers; i++ {
		run(c.nodeWorker, time.Second)
	}
	for i := 0; i < 4; i++ {
		run(c.podWorker, time.Second)
	}
	run(c.noExecuteTaintingPass, taintPassPeriod)
	run(func(ctx context.Context) {
		if err := c.monitorNodeHealth(ctx); err != nil {
			c.log.Error("monitoring node health", "err", err)
		}
	}, c.opts.NodeMonitorPeriod)
	<-ctx.Done()
	c.nodeQueue.ShutDown()
	c.podQueue.ShutDown()
	wg.Wait()
	return nil
}

func nodeFrom(obj any) (*corev1.Node, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, ok := obj.(*corev1.Node)
	return n, ok
}

func (c *Controller) enqueueNode(obj any) {
	if n, ok := nodeFrom(obj); ok {
		c.nodeQueue.Add(n.Name)
	}
}

// podBound queues a pod that just got (or changed) its node.
func (c *Controller) podBound(old, obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return
	}
	if o, ok := old.(*corev1.Pod); ok && o.Spec.NodeName == pod.Spec.NodeName {
		return
	}
	c.podQueue.Add(pod.Namespace + "/" + pod.Name)
}

// nodeWorker keeps each node's NoSchedule condition taints in line with
// its conditions.
func (c *Controller) nodeWorker(ctx context.Context) {
	for {
		name, quit := c.nodeQueue.Get()
		if quit {
			return
		}
		err := c.syncNoScheduleTaints(ctx, name)
		if err != nil {
			c.log.Error("updating NoSchedule taints", "node", name, "err", err)
			c.nodeQueue.AddRateLimited(name)
		} else {
			c.nodeQueue.Forget(name)
		}
		c.nodeQueue.Done(name)
	}
}

func (c *Controller) syncNoScheduleTaints(ctx context.Context, name string) error {
	node, err := c.nodeLister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	add, del := noScheduleDiff(node)
	_, err = c.taints.swap(ctx, node, add, del)
	return err
}

// podWorker marks pods that land on an unhealthy node not ready.
func (c *Controller) podWorker(ctx context.Context) {
	for {
		key, quit := c.podQueue.Get()
		if quit {
			return
		}
		if err := c.syncPod(ctx, key); err != nil {
			c.log.Info("marking pod not ready", "pod", key, "err", err)
			c.podQueue.AddRateLimited(key)
		} else {
			c.podQueue.Forget(key)
		}
		c.podQueue.Done(key)
	}
}

func (c *Controller) syncPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := c.podLister.Pods(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	h := c.getHealth(pod.Spec.NodeName)
	if h == nil {
		return nil
	}
	if _, err := c.nodeLister.Get(pod.Spec.NodeName); err != nil {
		return err
	}
	ready := nodeCondition(h.status, corev1.NodeReady)
	if ready == nil || ready.Status == corev1.ConditionTrue {
		return nil
	}
	return c.markPodsNotReady(ctx, []*corev1.Pod{pod}, pod.Spec.NodeName)
}

func (c *Controller) getHealth(name string) *nodeHealth {
	c.healthMu.RLock()
	defer c.healthMu.RUnlock()
	h := c.health[name]
	if h == nil {
		return nil
	}
	cp := *h
	return &cp
}

func (c *Controller) setHealth(name string, h *nodeHealth) {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	c.health[name] = h
}

func nodeCondition(status *corev1.NodeStatus, t corev1.NodeConditionType) *corev1.NodeCondition {
	if status == nil {
		return nil
	}
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			return &status.Conditions[i]
		}
	}
	return nil
}

// monitorNodeHealth is one pass over all nodes: mark silent ones Unknown,
// queue unhealthy ones for NoExecute taints, untaint healthy ones, and
// recompute zone states.
func (c *Controller) monitorNodeHealth(ctx context.Context) error {
	start := c.clock.Now()
	defer func() { c.metrics.allNodesDuration.Observe(c.clock.Since(start).Seconds()) }()
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	added, deleted, newZones := c.classifyNodes(nodes)
	for _, n := range newZones {
		c.addZone(n)
	}
	for _, n := range added {
		c.recordNodeEvent(n, corev1.EventTypeNormal, "RegisteredNode", fmt.Sprintf("Registered Node %v in Controller", n.Name))
		c.knownNodes[n.Name] = n
		c.addZone(n)
		if _, err := c.markNodeAsReachable(ctx, n); err != nil {
			c.log.Error("removing taints from new node", "node", n.Name, "err", err)
		}
	}
	for _, n := range deleted {
		c.recordNodeEvent(n, corev1.EventTypeNormal, "RemovingNode", fmt.Sprintf("Removing Node %v from Controller", n.Name))
		delete(c.knownNodes, n.Name)
		c.healthMu.Lock()
		delete(c.health, n.Name)
		c.healthMu.Unlock()
	}

	var mu sync.Mutex
	zoneConds := map[string][]*corev1.NodeCondition{}
	workqueue.ParallelizeUntil(ctx, c.workers, len(nodes), func(i int) {
		start := c.clock.Now()
		defer func() { c.metrics.nodeDuration.Observe(c.clock.Since(start).Seconds()) }()
		node := nodes[i].DeepCopy()
		var observed corev1.NodeCondition
		var current *corev1.NodeCondition
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if observed, current, err = c.tryUpdateNodeHealth(ctx, node); err == nil {
				break
			}
			if node, err = c.client.CoreV1().Nodes().Get(ctx, nodes[i].Name, metav1.GetOptions{}); err != nil {
				break
			}
		}
		if err != nil {
			c.log.Error("updating node health, skipping: no pods will be evicted", "node", nodes[i].Name, "err", err)
			return
		}
		if _, excluded := node.Labels[labelExcludeDisruption]; !excluded {
			mu.Lock()
			zoneConds[zoneKey(node)] = append(zoneConds[zoneKey(node)], current)
			mu.Unlock()
		}
		if current == nil {
			c.nodesToRetry.Delete(node.Name)
			return
		}
		pods, err := c.podsOnNode(node.Name)
		if err != nil {
			if current.Status != corev1.ConditionTrue && observed.Status == corev1.ConditionTrue {
				c.nodesToRetry.Store(node.Name, struct{}{})
			}
			return
		}
		c.processTaintBasedEviction(ctx, node, observed)
		_, retry := c.nodesToRetry.Load(node.Name)
		switch {
		case current.Status != corev1.ConditionTrue && observed.Status == corev1.ConditionTrue:
			c.recordNodeEvent(node, corev1.EventTypeNormal, "NodeNotReady", fmt.Sprintf("Node %s status is now: %s", node.Name, "NodeNotReady"))
			fallthrough
		case retry && observed.Status != corev1.ConditionTrue:
			if err := c.markPodsNotReady(ctx, pods, node.Name); err != nil {
				c.log.Error("marking pods not ready, will retry", "node", node.Name, "err", err)
				c.nodesToRetry.Store(node.Name, struct{}{})
				return
			}
		}
		c.nodesToRetry.Delete(node.Name)
	})
	c.handleDisruption(ctx, zoneConds, nodes)
	return nil
}

// tryUpdateNodeHealth refreshes the node's probe time from its Ready
// heartbeat and Lease and, past the grace period, sets its conditions to
// Unknown. It returns the Ready condition as observed and as now stored.
func (c *Controller) tryUpdateNodeHealth(ctx context.Context, node *corev1.Node) (corev1.NodeCondition, *corev1.NodeCondition, error) {
	h := c.getHealth(node.Name)
	var saved *nodeHealth
	if h != nil {
		saved = h
	}
	defer func() {
		if h != nil {
			c.setHealth(node.Name, h)
		}
	}()
	now := c.clock.Now()
	var grace time.Duration
	var observed corev1.NodeCondition
	current := nodeCondition(&node.Status, corev1.NodeReady)
	if current == nil {
		// The kubelet never posted status: treat it as Unknown since the
		// node's creation, with the longer startup grace period.
		observed = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionUnknown,
			LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: node.CreationTimestamp}
		grace = c.opts.NodeStartupGracePeriod
		if h != nil {
			h.status = &node.Status
		} else {
			h = &nodeHealth{status: &node.Status, probeTimestamp: node.CreationTimestamp.Time, readyTransitionTimestamp: node.CreationTimestamp.Time}
		}
	} else {
		observed = *current
		grace = c.opts.NodeMonitorGracePeriod
	}
	var savedCond *corev1.NodeCondition
	var savedLease *coordinationv1.Lease
	if saved != nil {
		savedCond = nodeCondition(saved.status, corev1.NodeReady)
		savedLease = saved.lease
	}
	switch {
	case h == nil:
		h = &nodeHealth{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: now}
	case savedCond == nil && current != nil, savedCond != nil && current == nil:
		h = &nodeHealth{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: now}
	case savedCond != nil && current != nil && !savedCond.LastHeartbeatTime.Equal(&current.LastHeartbeatTime):
		transition := h.readyTransitionTimestamp
		if !savedCond.LastTransitionTime.Equal(&current.LastTransitionTime) {
			transition = now
		}
		h = &nodeHealth{status: &node.Status, probeTimestamp: now, readyTransitionTimestamp: transition, lease: h.lease}
	}
	// A renewed Lease is a heartbeat too.
	lease, _ := c.leaseLister.Leases(corev1.NamespaceNodeLease).Get(node.Name)
	if lease != nil && lease.Spec.RenewTime != nil &&
		(savedLease == nil || savedLease.Spec.RenewTime == nil || savedLease.Spec.RenewTime.Before(lease.Spec.RenewTime)) {
		h.lease = lease
		h.probeTimestamp = now
	}
	if !now.After(h.probeTimestamp.Add(grace)) {
		return observed, current, nil
	}
	ts := metav1.NewTime(now)
	for _, t := range []corev1.NodeConditionType{corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		cond := nodeCondition(&node.Status, t)
		if cond == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type: t, Status: corev1.ConditionUnknown, Reason: "NodeStatusNeverUpdated",
				Message: "Kubelet never posted node status.", LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: ts,
			})
			continue
		}
		if cond.Status != corev1.ConditionUnknown {
			cond.Status = corev1.ConditionUnknown
			cond.Reason = "NodeStatusUnknown"
			cond.Message = "Kubelet stopped posting node status."
			cond.LastTransitionTime = ts
		}
	}
	current = nodeCondition(&node.Status, corev1.NodeReady)
	if apiequality.Semantic.DeepEqual(current, &observed) {
		return observed, current, nil
	}
	if _, err := c.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		h = saved
		return observed, current, fmt.Errorf("update status of node %s: %w", node.Name, err)
	}
	c.log.Info("node stopped posting status", "node", node.Name, "since", h.probeTimestamp)
	h = &nodeHealth{status: &node.Status, probeTimestamp: h.probeTimestamp, readyTransitionTimestamp: now, lease: lease}
	return observed, current, nil
}

// processTaintBasedEviction queues an unhealthy node for its NoExecute
// taint (swapping not-ready and unreachable at once when the node already
// has the other), and untaints a healthy one.
func (c *Controller) processTaintBasedEviction(ctx context.Context, node *corev1.Node, observed corev1.NodeCondition) {
	switch observed.Status {
	case corev1.ConditionFalse:
		if taintExists(node.Spec.Taints, unreachableTaint) {
			if _, err := c.taints.swap(ctx, node, []corev1.Taint{notReadyTaint}, []corev1.Taint{unreachableTaint}); err != nil {
				c.log.Error("swapping unreachable taint to not-ready", "node", node.Name, "err", err)
			}
		} else if c.markNodeForTainting(node, corev1.ConditionFalse) {
			c.log.Info("node is NotReady, adding it to the taint queue", "node", node.Name)
		}
	case corev1.ConditionUnknown:
		if taintExists(node.Spec.Taints, notReadyTaint) {
			if _, err := c.taints.swap(ctx, node, []corev1.Taint{unreachableTaint}, []corev1.Taint{notReadyTaint}); err != nil {
				c.log.Error("swapping not-ready taint to unreachable", "node", node.Name, "err", err)
			}
		} else if c.markNodeForTainting(node, corev1.ConditionUnknown) {
			c.log.Info("node is unresponsive, adding it to the taint queue", "node", node.Name)
		}
	case corev1.ConditionTrue:
		removed, err := c.markNodeAsReachable(ctx, node)
		if err != nil {
			c.log.Error("removing taints from node, will retry", "node", node.Name, "err", err)
		}
		if removed {
			c.log.Info("node is healthy again, removed it from the taint queue", "node", node.Name)
		}
	}
}

func (c *Controller) tainter(node *corev1.Node) *rateLimitedQueue {
	c.evictorMu.Lock()
	defer c.evictorMu.Unlock()
	return c.tainters[zoneKey(node)]
}

func (c *Controller) markNodeForTainting(node *corev1.Node, status corev1.ConditionStatus) bool {
	q := c.tainter(node)
	if q == nil {
		return false
	}
	if status == corev1.ConditionFalse && !taintExists(node.Spec.Taints, notReadyTaint) ||
		status == corev1.ConditionUnknown && !taintExists(node.Spec.Taints, unreachableTaint) {
		q.remove(node.Name)
	}
	return q.add(node.Name, string(node.UID))
}

// markNodeAsReachable removes the NoExecute health taints and drops the
// node from its zone's taint queue.
func (c *Controller) markNodeAsReachable(ctx context.Context, node *corev1.Node) (bool, error) {
	var del []corev1.Taint
	for _, t := range []corev1.Taint{unreachableTaint, notReadyTaint} {
		if taintExists(node.Spec.Taints, t) {
			del = append(del, t)
		}
	}
	if _, err := c.taints.swap(ctx, node, nil, del); err != nil {
		return false, err
	}
	q := c.tainter(node)
	if q == nil {
		return false, nil
	}
	return q.remove(node.Name), nil
}

// noExecuteTaintingPass drains every zone's taint queue at its rate.
func (c *Controller) noExecuteTaintingPass(ctx context.Context) {
	c.evictorMu.Lock()
	queues := make([]*rateLimitedQueue, 0, len(c.tainters))
	for _, q := range c.tainters {
		queues = append(queues, q)
	}
	c.evictorMu.Unlock()
	for _, q := range queues {
		q.try(func(name, _ string) (bool, time.Duration) {
			node, err := c.nodeLister.Get(name)
			if apierrors.IsNotFound(err) {
				return true, 0
			}
			if err != nil {
				return false, 50 * time.Millisecond
			}
			ready := nodeCondition(&node.Status, corev1.NodeReady)
			if ready == nil {
				return false, 50 * time.Millisecond
			}
			var add, opposite corev1.Taint
			switch ready.Status {
			case corev1.ConditionFalse:
				add, opposite = notReadyTaint, unreachableTaint
			case corev1.ConditionUnknown:
				add, opposite = unreachableTaint, notReadyTaint
			default:
				return true, 0 // ready again
			}
			if _, err := c.taints.swap(ctx, node, []corev1.Taint{add}, []corev1.Taint{opposite}); err != nil {
				c.log.Error("tainting node", "node", name, "err", err)
				return false, 0
			}
			c.metrics.evictions.WithLabelValues(zoneKey(node)).Inc()
			return true, 0
		})
	}
}

func (c *Controller) classifyNodes(all []*corev1.Node) (added, deleted, newZones []*corev1.Node) {
	seen := make(map[string]bool, len(all))
	for _, n := range all {
		seen[n.Name] = true
		if _, ok := c.knownNodes[n.Name]; !ok {
			added = append(added, n)
		} else if _, ok := c.zoneStates[zoneKey(n)]; !ok {
			newZones = append(newZones, n)
		}
	}
	if len(c.knownNodes)+len(added) != len(all) {
		for name, n := range c.knownNodes {
			if !seen[name] {
				deleted = append(deleted, n)
			}
		}
	}
	return added, deleted, newZones
}

// addZone starts tracking the node's zone if it is new.
func (c *Controller) addZone(node *corev1.Node) {
	zone := zoneKey(node)
	c.evictorMu.Lock()
	defer c.evictorMu.Unlock()
	if _, ok := c.zoneStates[zone]; ok {
		return
	}
	c.zoneStates[zone] = StateInitial
	c.tainters[zone] = newRateLimitedQueue(c.opts.EvictionRate, c.clock)
	c.metrics.evictions.WithLabelValues(zone).Add(0)
}

// handleDisruption recomputes zone states and the tainting rate of each
// zone; when every zone is fully disrupted the problem is most likely the
// control plane's own connectivity, so all taints are lifted and tainting
// stops.
func (c *Controller) handleDisruption(ctx context.Context, zoneConds map[string][]*corev1.NodeCondition, nodes []*corev1.Node) {
	newStates := map[string]ZoneState{}
	allFully := true
	for zone, conds := range zoneConds {
		c.metrics.zoneSize.WithLabelValues(zone).Set(float64(len(conds)))
		unhealthy, state := computeZoneState(conds, c.opts.UnhealthyZoneThreshold)
		c.metrics.zoneHealth.WithLabelValues(zone).Set(float64(100*(len(conds)-unhealthy)) / float64(len(conds)))
		c.metrics.unhealthy.WithLabelValues(zone).Set(float64(unhealthy))
		if state != StateFullDisruption {
			allFully = false
		}
		newStates[zone] = state
		if _, ok := c.zoneStates[zone]; !ok {
			c.zoneStates[zone] = StateInitial
		}
	}
	allWasFully := true
	for zone, state := range c.zoneStates {
		if _, ok := zoneConds[zone]; !ok {
			c.metrics.zoneSize.WithLabelValues(zone).Set(0)
			c.metrics.zoneHealth.WithLabelValues(zone).Set(100)
			c.metrics.unhealthy.WithLabelValues(zone).Set(0)
			c.evictorMu.Lock()
			delete(c.zoneStates, zone)
			delete(c.tainters, zone)
			c.evictorMu.Unlock()
			continue
		}
		if state != StateFullDisruption {
			allWasFully = false
		}
	}
	if allFully && allWasFully {
		return
	}
	switch {
	case allFully:
		c.log.Info("all nodes are not ready: entering master disruption mode")
		for _, n := range nodes {
			if _, err := c.markNodeAsReachable(ctx, n); err != nil {
				c.log.Error("removing taints from node", "node", n.Name, "err", err)
			}
		}
		c.evictorMu.Lock()
		for zone := range c.zoneStates {
			if q := c.tainters[zone]; q != nil {
				q.swapLimiter(0)
			}
			c.zoneStates[zone] = StateFullDisruption
		}
		c.evictorMu.Unlock()
	case allWasFully:
		c.log.Info("some nodes are ready: exiting master disruption mode")
		now := c.clock.Now()
		c.healthMu.Lock()
		for _, n := range nodes {
			if h := c.health[n.Name]; h != nil {
				h.probeTimestamp, h.readyTransitionTimestamp = now, now
			}
		}
		c.healthMu.Unlock()
		for zone := range c.zoneStates {
			c.setZoneState(zone, len(zoneConds[zone]), newStates[zone])
		}
	default:
		for zone, state := range c.zoneStates {
			if state == newStates[zone] {
				continue
			}
			c.log.Info("zone changed state", "zone", zone, "state", newStates[zone])
			c.setZoneState(zone, len(zoneConds[zone]), newStates[zone])
		}
	}
}

// setZoneState records a zone's state and sets its tainting rate.
func (c *Controller) setZoneState(zone string, size int, state ZoneState) {
	c.evictorMu.Lock()
	defer c.evictorMu.Unlock()
	c.zoneStates[zone] = state
	if q := c.tainters[zone]; q != nil && state != StateInitial {
		q.swapLimiter(zoneRate(c.opts, state, size))
	}
}

func (c *Controller) recordNodeEvent(node *corev1.Node, eventType, reason, msg string) {
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}
	c.recorder.Event(ref, eventType, reason, msg)
}
