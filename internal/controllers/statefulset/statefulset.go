package statefulset

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Controller is the statefulset controller.
type Controller struct {
	client    kubernetes.Interface
	sets      appslisters.StatefulSetLister
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
	// warned remembers sets already told that volumes are not provisioned.
	warned sync.Map
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the statefulset, pod and controllerrevision informers.
func New(cc controllers.Context) (controllers.Controller, error) {
	setInf := cc.Informers.Apps().V1().StatefulSets()
	podInf := cc.Informers.Core().V1().Pods()
	crInf := cc.Informers.Apps().V1().ControllerRevisions()
	if err := controllers.AddOwnerUIDIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	events := controllers.NewEvents(cc.Client, "statefulset-controller")
	c := &Controller{
		client: cc.Client, sets: setInf.Lister(), revisions: crInf.Lister(), pods: podInf.Informer().GetIndexer(),
		synced: []cache.InformerSynced{setInf.Informer().HasSynced, podInf.Informer().HasSynced, crInf.Informer().HasSynced},
		queue:  controllers.NewQueue[string](cc, "statefulset"),
		log:    cc.Logger, clock: cc.Clock, workers: cc.Workers, exp: controllers.NewExpectations(),
		events: events, recorder: events,
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.clock == nil {
		c.clock = clock.RealClock{}
	}
	if c.workers <= 0 {
		c.workers = 5
	}
	if _, err := setInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue, UpdateFunc: func(_, o any) { c.enqueue(o) }, DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, fmt.Errorf("statefulset informer handler: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.podAdded, UpdateFunc: c.podUpdated, DeleteFunc: c.podDeleted,
	}); err != nil {
		return nil, fmt.Errorf("pod informer handler: %w", err)
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return "statefulset" }

// Run implements controllers.Controller.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.events.Start()()
	if err := controllers.WaitForSync(ctx, "statefulset", c.synced...); err != nil {
		return err
	}
	controllers.RunWorkers(ctx, c.queue, c.workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(obj any) { controllers.Enqueue(c.queue, obj) }

func ownerKey(p *corev1.Pod) string {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "StatefulSet" {
		return ""
	}
	return p.Namespace + "/" + ref.Name
}

func (c *Controller) podAdded(obj any) {
	if p, ok := obj.(*corev1.Pod); ok {
		if key := ownerKey(p); key != "" {
			c.exp.Observe(key, 1, 0)
			c.queue.Add(key)
		}
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
	if p, ok := obj.(*corev1.Pod); ok {
		if key := ownerKey(p); key != "" {
			if p.DeletionTimestamp == nil {
				c.exp.Observe(key, 0, 1)
			}
			c.queue.Add(key)
		}
	}
}
