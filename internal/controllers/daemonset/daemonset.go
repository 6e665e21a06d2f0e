package daemonset

import (
	"context"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Controller is the daemonset controller.
type Controller struct {
	client    kubernetes.Interface
	sets      appslisters.DaemonSetLister
	nodes     corelisters.NodeLister
	revisions appslisters.ControllerRevisionLister
	pods      cache.Indexer
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	log       *slog.Logger
	clock     clock.WithTicker
	workers   int
	exp       *controllers.Expectations
	events    *controllers.Events
	recorder  record.EventRecorder
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the daemonset, node, pod and controllerrevision informers.
func New(cc controllers.Context) (controllers.Controller, error) {
	dsInf := cc.Informers.Apps().V1().DaemonSets()
	nodeInf := cc.Informers.Core().V1().Nodes()
	podInf := cc.Informers.Core().V1().Pods()
	crInf := cc.Informers.Apps().V1().ControllerRevisions()
	if err := controllers.AddOwnerUIDIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	events := controllers.NewEvents(cc.Client, "daemonset-controller")
	c := &Controller{
		client: cc.Client, sets: dsInf.Lister(), nodes: nodeInf.Lister(), revisions: crInf.Lister(),
		pods: podInf.Informer().GetIndexer(),
		synced: []cache.InformerSynced{dsInf.Informer().HasSynced, nodeInf.Informer().HasSynced,
			podInf.Informer().HasSynced, crInf.Informer().HasSynced},
		queue: controllers.NewQueue[string](cc, "daemonset"),
		log:   cc.Logger, clock: cc.Clock, workers: cc.Workers, exp: controllers.NewExpectations(),
		events: events, recorder: events,
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.workers <= 0 {
		c.workers = 2
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dsInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.enqueue, UpdateFunc: func(_, o any) { c.enqueue(o) }, DeleteFunc: c.enqueue}},
		{nodeInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.enqueueAll, UpdateFunc: c.nodeUpdated, DeleteFunc: c.enqueueAll}},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.podAdded, UpdateFunc: c.podUpdated, DeleteFunc: c.podDeleted}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("daemonset informer handler: %w", err)
		}
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return "daemonset" }

// Run implements controllers.Controller.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.events.Start()()
	if err := controllers.WaitForSync(ctx, "daemonset", c.synced...); err != nil {
		return err
	}
	controllers.RunWorkers(ctx, c.queue, c.workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(obj any) { controllers.Enqueue(c.queue, obj) }

// enqueueAll queues every DaemonSet: a node change can matter to any.
func (c *Controller) enqueueAll(any) {
	sets, err := c.sets.List(labels.Everything())
	if err != nil {
		return
	}
	for _, ds := range sets {
		c.enqueue(ds)
	}
}

func (c *Controller) nodeUpdated(old, cur any) {
	o, ok1 := old.(*corev1.Node)
	n, ok2 := cur.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	// Heartbeats change only status conditions' times; skip them.
	if labels.Equals(o.Labels, n.Labels) && equalTaints(o.Spec.Taints, n.Spec.Taints) && o.Spec.Unschedulable == n.Spec.Unschedulable {
		return
	}
	c.enqueueAll(cur)
}

func equalTaints(a, b []corev1.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Value != b[i].Value || a[i].Effect != b[i].Effect {
			return false
		}
	}
	return true
}

func ownerKey(p *corev1.Pod) string {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "DaemonSet" {
		return ""
	}
	return p.Namespace + "/" + ref.Name
}

func (c *Controller) podAdded(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if key := ownerKey(p); key != "" {
		c.exp.Observe(key, 1, 0)
		c.queue.Add(key)
	}
}

func (c *Controller) podUpdated(old, cur any) {
	o, ok1 := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || o.ResourceVersion == p.ResourceVersion {
		return
	}
	if key := ownerKey(p); key != "" {
		if p.DeletionTimestamp != nil && o.DeletionTimestamp == nil {
			c.exp.Observe(key, 0, 1)
		}
		c.queue.Add(key)
	}
}

func (c *Controller) podDeleted(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if key := ownerKey(p); key != "" {
		if p.DeletionTimestamp == nil {
			c.exp.Observe(key, 0, 1)
		}
		c.queue.Add(key)
	}
}
