package nodelifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// TaintEvictionName is the taint eviction controller's --controllers name.
const TaintEvictionName = "taint-eviction-controller"

// evictionRetries is how often a failed pod deletion is retried.
const evictionRetries = 5

// scheduledEviction is a pod deletion waiting for its toleration to run out.
type scheduledEviction struct {
	createdAt, fireAt time.Time
}

type podItem struct{ namespace, name, node string }

// TaintEvictionController deletes pods from nodes with NoExecute taints
// they do not tolerate, or tolerate only for tolerationSeconds.
type TaintEvictionController struct {
	client     kubernetes.Interface
	log        *slog.Logger
	logr       logr.Logger
	clock      clock.WithTicker
	workers    int
	podLister  corelisters.PodLister
	nodeLister corelisters.NodeLister
	podsOnNode func(string) ([]*corev1.Pod, error)
	synced     []cache.InformerSynced

	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder

	deletions       prometheus.Counter
	deletionLatency prometheus.Histogram

	nodeQueue  workqueue.TypedInterface[string]
	podQueue   workqueue.TypedInterface[podItem]
	evictQueue workqueue.TypedRateLimitingInterface[string]

	taintedMu sync.Mutex // guards tainted
	tainted   map[string][]corev1.Taint

	scheduledMu sync.Mutex // guards scheduled
	scheduled   map[string]scheduledEviction
}

var _ controllers.Controller = (*TaintEvictionController)(nil)

// NewTaintEviction builds the taint eviction controller.
func NewTaintEviction(ctx controllers.Context) (controllers.Controller, error) {
	clk := ctx.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	log := ctx.Logger
	if log == nil {
		log = slog.Default()
	}
	workers := ctx.Workers
	if workers <= 0 {
		workers = 8
	}
	pods := ctx.Informers.Core().V1().Pods()
	nodes := ctx.Informers.Core().V1().Nodes()
	podsOnNode, err := addNodeNameIndex(pods.Informer())
	if err != nil {
		return nil, err
	}
	broadcaster := record.NewBroadcaster()
	c := &TaintEvictionController{
		client: ctx.Client, log: log, logr: logr.FromSlogHandler(log.Handler()), clock: clk, workers: workers,
		podLister: pods.Lister(), nodeLister: nodes.Lister(), podsOnNode: podsOnNode,
		synced:      []cache.InformerSynced{pods.Informer().HasSynced, nodes.Informer().HasSynced},
		broadcaster: broadcaster,
		recorder:    broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: TaintEvictionName}),
		deletions: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "taint_eviction_controller", Name: "pod_deletions_total",
			Help: "Total number of Pods deleted by TaintEvictionController since its start."}),
		deletionLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: "taint_eviction_controller", Name: "pod_deletion_duration_seconds",
			Help:    "Latency, in seconds, between the time when a taint effect has been activated for the Pod and its deletion via TaintEvictionController.",
			Buckets: []float64{0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 60, 120, 180, 240}}),
		nodeQueue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: "noexec_taint_node", MetricsProvider: ctx.Queues, Clock: clk}),
		podQueue:  workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[podItem]{Name: "noexec_taint_pod", MetricsProvider: ctx.Queues, Clock: clk}),
		evictQueue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "taint_eviction_controller", MetricsProvider: ctx.Queues, Clock: clk}),
		tainted:   map[string][]corev1.Taint{},
		scheduled: map[string]scheduledEviction{},
	}
	if ctx.Metrics != nil {
		if c.deletions, err = register(ctx.Metrics, c.deletions); err != nil {
			return nil, err
		}
		if c.deletionLatency, err = register(ctx.Metrics, c.deletionLatency); err != nil {
			return nil, err
		}
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.podUpdated(nil, podFrom(obj)) },
		UpdateFunc: func(old, obj any) { c.podUpdated(podFrom(old), podFrom(obj)) },
		DeleteFunc: func(obj any) { c.podUpdated(podFrom(obj), nil) },
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.nodeUpdated(nil, obj) },
		UpdateFunc: func(old, obj any) {
			c.nodeUpdated(old, obj)
		},
		DeleteFunc: func(obj any) { c.nodeUpdated(obj, nil) },
	}); err != nil {
		return nil, fmt.Errorf("node handler: %w", err)
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *TaintEvictionController) Name() string { return TaintEvictionName }

// Run processes taint and pod changes and scheduled deletions until ctx ends.
func (c *TaintEvictionController) Run(ctx context.Context) error {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	defer c.nodeQueue.ShutDown()
	defer c.podQueue.ShutDown()
	defer c.evictQueue.ShutDown()
	c.log.Info("starting controller")
	defer c.log.Info("shutting down controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return errors.New("caches did not sync")
	}
	var wg sync.WaitGroup
	spawn := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	// Node updates are handled by one goroutine in order, so that a pod
	// is never judged against taints older than the node's last update.
	spawn(func() {
		for {
			name, quit := c.nodeQueue.Get()
			if quit {
				return
			}
			c.handleNodeUpdate(name)
			c.nodeQueue.Done(name)
		}
	})
	for i := 0; i < c.workers; i++ {
		spawn(func() {
			for {
				item, quit := c.podQueue.Get()
				if quit {
					return
				}
				c.handlePodUpdate(item)
				c.podQueue.Done(item)
			}
		})
		spawn(func() {
			for c.processEviction(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.nodeQueue.ShutDown()
	c.podQueue.ShutDown()
	c.evictQueue.ShutDown()
	wg.Wait()
	return nil
}

func podFrom(obj any) *corev1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*corev1.Pod)
	return p
}

func (c *TaintEvictionController) podUpdated(old, cur *corev1.Pod) {
	if old == nil && cur == nil {
		return
	}
	if old != nil && cur != nil && old.Spec.NodeName == cur.Spec.NodeName &&
		apiequality.Semantic.DeepEqual(old.Spec.Tolerations, cur.Spec.Tolerations) {
		return
	}
	p := cur
	if p == nil {
		p = old
	}
	c.podQueue.Add(podItem{namespace: p.Namespace, name: p.Name, node: p.Spec.NodeName})
}

func noExecuteTaints(taints []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range taints {
		if t.Effect == corev1.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

func (c *TaintEvictionController) nodeUpdated(old, cur any) {
	o, _ := nodeFrom(old)
	n, _ := nodeFrom(cur)
	if o == nil && n == nil {
		return
	}
	if o != nil && n != nil && apiequality.Semantic.DeepEqual(noExecuteTaints(o.Spec.Taints), noExecuteTaints(n.Spec.Taints)) {
		return
	}
	name := ""
	if n != nil {
		name = n.Name
	} else {
		name = o.Name
	}
	c.nodeQueue.Add(name)
}

func (c *TaintEvictionController) handleNodeUpdate(name string) {
	node, err := c.nodeLister.Get(name)
	if apierrors.IsNotFound(err) {
		c.taintedMu.Lock()
		delete(c.tainted, name)
		c.taintedMu.Unlock()
		return
	}
	if err != nil {
		c.log.Error("getting node", "node", name, "err", err)
		return
	}
	taints := noExecuteTaints(node.Spec.Taints)
	c.taintedMu.Lock()
	if len(taints) == 0 {
		delete(c.tainted, name)
	} else {
		c.tainted[name] = taints
	}
	c.taintedMu.Unlock()
	// The taints are recorded before the pods are listed: a pod bound
	// later is seen by handlePodUpdate with these taints.
	pods, err := c.podsOnNode(name)
	if err != nil {
		c.log.Error("listing pods of node", "node", name, "err", err)
		return
	}
	now := c.clock.Now()
	for _, p := range pods {
		key := p.Namespace + "/" + p.Name
		if len(taints) == 0 {
			c.cancel(key)
			continue
		}
		c.processPodOnNode(key, p.Spec.Tolerations, taints, now)
	}
}

func (c *TaintEvictionController) handlePodUpdate(item podItem) {
	key := item.namespace + "/" + item.name
	pod, err := c.podLister.Pods(item.namespace).Get(item.name)
	if apierrors.IsNotFound(err) {
		c.cancel(key)
		return
	}
	if err != nil || pod.Spec.NodeName != item.node || pod.Spec.NodeName == "" {
		return
	}
	taints := c.taintsOf(pod.Spec.NodeName)
	if taints == nil {
		return
	}
	c.processPodOnNode(key, pod.Spec.Tolerations, taints, c.clock.Now())
}

func (c *TaintEvictionController) taintsOf(node string) []corev1.Taint {
	c.taintedMu.Lock()
	defer c.taintedMu.Unlock()
	return c.tainted[node]
}

// processPodOnNode schedules, reschedules or cancels the pod's deletion.
func (c *TaintEvictionController) processPodOnNode(key string, tolerations []corev1.Toleration, taints []corev1.Taint, now time.Time) {
	if len(taints) == 0 {
		c.cancel(key)
		return
	}
	all, used := matchingTolerations(c.logr, taints, tolerations)
	if !all {
		c.cancel(key)
		c.schedule(key, now, now)
		return
	}
	wait := minTolerationTime(used)
	if wait < 0 {
		c.cancel(key)
		return
	}
	start, trigger := now, now.Add(wait)
	c.scheduledMu.Lock()
	existing, ok := c.scheduled[key]
	c.scheduledMu.Unlock()
	if ok {
		start = existing.createdAt
		trigger = start.Add(wait)
		if trigger.Equal(existing.fireAt) {
			return
		}
	}
	c.schedule(key, start, trigger)
}

func (c *TaintEvictionController) schedule(key string, createdAt, fireAt time.Time) {
	c.scheduledMu.Lock()
	c.scheduled[key] = scheduledEviction{createdAt: createdAt, fireAt: fireAt}
	c.scheduledMu.Unlock()
	c.evictQueue.AddAfter(key, fireAt.Sub(c.clock.Now()))
}

// cancel drops a scheduled deletion, with the upstream event.
func (c *TaintEvictionController) cancel(key string) {
	c.scheduledMu.Lock()
	_, ok := c.scheduled[key]
	delete(c.scheduled, key)
	c.scheduledMu.Unlock()
	if ok {
		c.podEvent(key, "Cancelling deletion of Pod %s")
	}
}

func (c *TaintEvictionController) podEvent(key, format string) {
	ns, name, _ := cache.SplitMetaNamespaceKey(key)
	ref := &corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name}
	c.recorder.Eventf(ref, corev1.EventTypeNormal, "TaintManagerEviction", format, key)
}

// processEviction runs one due deletion; it returns false on shutdown.
func (c *TaintEvictionController) processEviction(ctx context.Context) bool {
	key, quit := c.evictQueue.Get()
	if quit {
		return false
	}
	defer c.evictQueue.Done(key)
	c.scheduledMu.Lock()
	ev, ok := c.scheduled[key]
	c.scheduledMu.Unlock()
	if !ok {
		c.evictQueue.Forget(key)
		return true
	}
	now := c.clock.Now()
	if now.Before(ev.fireAt) {
		c.evictQueue.AddAfter(key, ev.fireAt.Sub(now))
		return true
	}
	// A pod worker may have judged the pod against taints that a node
	// update has since removed: check again before deleting.
	if ns, name, err := cache.SplitMetaNamespaceKey(key); err == nil {
		if pod, err := c.podLister.Pods(ns).Get(name); err == nil && c.taintsOf(pod.Spec.NodeName) == nil {
			c.cancel(key)
			c.evictQueue.Forget(key)
			return true
		}
	}
	c.podEvent(key, "Marking for deletion Pod %s")
	err := c.deletePod(ctx, key)
	if err != nil && c.evictQueue.NumRequeues(key) < evictionRetries {
		c.log.Error("deleting pod, will retry", "pod", key, "err", err)
		c.evictQueue.AddRateLimited(key)
		return true
	}
	if err != nil {
		c.log.Error("deleting pod, giving up", "pod", key, "err", err)
	} else {
		c.deletions.Inc()
		c.deletionLatency.Observe(c.clock.Since(ev.fireAt).Seconds())
	}
	c.scheduledMu.Lock()
	if cur, ok := c.scheduled[key]; ok && cur == ev {
		delete(c.scheduled, key)
	}
	c.scheduledMu.Unlock()
	c.evictQueue.Forget(key)
	return true
}

// deletePod marks the pod with the DisruptionTarget condition and deletes
// it (a plain DELETE, not an eviction: PodDisruptionBudgets do not apply).
func (c *TaintEvictionController) deletePod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	c.log.Info("deleting pod", "pod", key)
	pods := c.client.CoreV1().Pods(ns)
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get pod %s: %w", key, err)
	}
	i := podConditionIndex(pod.Status.Conditions, corev1.DisruptionTarget)
	if i < 0 || pod.Status.Conditions[i].Status != corev1.ConditionTrue || pod.Status.Conditions[i].Reason != "DeletionByTaintManager" {
		cond := corev1.PodCondition{
			Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(c.clock.Now()),
			Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint",
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"uid": pod.UID},
			"status":   map[string]any{"conditions": []corev1.PodCondition{cond}},
		})
		if err != nil {
			return fmt.Errorf("encode condition patch: %w", err)
		}
		if _, err := pods.Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("add DisruptionTarget condition to pod %s: %w", key, err)
		}
	}
	if err := pods.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s: %w", key, err)
	}
	return nil
}

// matchingTolerations reports whether every taint is tolerated, and the
// first toleration that tolerates each.
func matchingTolerations(log logr.Logger, taints []corev1.Taint, tolerations []corev1.Toleration) (bool, []corev1.Toleration) {
	if len(taints) == 0 {
		return true, nil
	}
	var used []corev1.Toleration
	for i := range taints {
		found := false
		for j := range tolerations {
			if tolerations[j].ToleratesTaint(log, &taints[i], true) {
				used = append(used, tolerations[j])
				found = true
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, used
}

// minTolerationTime is the smallest tolerationSeconds of tolerations, 0
// for none or a non-positive one, and -1 when all tolerate forever.
func minTolerationTime(tolerations []corev1.Toleration) time.Duration {
	if len(tolerations) == 0 {
		return 0
	}
	least := int64(math.MaxInt64)
	for _, t := range tolerations {
		if t.TolerationSeconds == nil {
			continue
		}
		if *t.TolerationSeconds <= 0 {
			return 0
		}
		least = min(least, *t.TolerationSeconds)
	}
	if least == math.MaxInt64 {
		return -1
	}
	return time.Duration(least) * time.Second
}
