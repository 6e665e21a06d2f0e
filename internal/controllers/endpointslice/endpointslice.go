package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"kplane/internal/controllers"
	"kplane/internal/controllers/endpoints"
)

// Name is the controller's --controllers name.
const Name = "endpointslice"

// ControllerName is the managed-by label value of the slices it owns.
const ControllerName = "endpointslice-controller.k8s.io"

// MaxEndpointsPerSlice is upstream's --max-endpoints-per-slice default.
const MaxEndpointsPerSlice = 100

const maxRetries = 15

// Controller keeps EndpointSlices in line with Services and pods.
type Controller struct {
	client      kubernetes.Interface
	log         *slog.Logger
	workers     int
	maxPerSlice int
	svcLister   corelisters.ServiceLister
	podLister   corelisters.PodLister
	nodeLister  corelisters.NodeLister
	sliceLister discoverylisters.EndpointSliceLister
	synced      []cache.InformerSynced
	queue       workqueue.TypedRateLimitingInterface[string]
	trigger     *endpoints.TriggerTimeTracker
	tracker     *tracker

	events *controllers.Events
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the controller on the shared service, pod, node and
// endpoint slice informers.
func New(ctx controllers.Context) (controllers.Controller, error) {
	log := ctx.Logger
	if log == nil {
		log = slog.Default()
	}
	svcs := ctx.Informers.Core().V1().Services()
	pods := ctx.Informers.Core().V1().Pods()
	nodes := ctx.Informers.Core().V1().Nodes()
	sl := ctx.Informers.Discovery().V1().EndpointSlices()
	c := &Controller{
		client: ctx.Client, log: log, workers: max(ctx.Workers, 1), maxPerSlice: MaxEndpointsPerSlice,
		svcLister: svcs.Lister(), podLister: pods.Lister(), nodeLister: nodes.Lister(), sliceLister: sl.Lister(),
		synced:  []cache.InformerSynced{svcs.Informer().HasSynced, pods.Informer().HasSynced, nodes.Informer().HasSynced, sl.Informer().HasSynced},
		queue:   controllers.NewQueue[string](ctx, "endpoint_slice"),
		trigger: endpoints.NewTriggerTimeTracker(),
		tracker: newTracker(),
		events:  controllers.NewEvents(ctx.Client, "endpoint-slice-controller"),
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	if _, err := svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return nil, fmt.Errorf("service handler: %w", err)
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.podChanged(obj.(*corev1.Pod)) },
		UpdateFunc: func(old, obj any) {
			for key := range endpoints.ServicesToUpdateOnPodChange(c.svcLister, old.(*corev1.Pod), obj.(*corev1.Pod)) {
				c.queue.Add(key)
			}
		},
		DeleteFunc: func(obj any) {
			if p := endpoints.PodFromDeleteEvent(obj); p != nil {
				c.podChanged(p)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	sliceEvent := func(obj any, deleted bool) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || s.Labels[discoveryv1.LabelManagedBy] != ControllerName || s.Labels[discoveryv1.LabelServiceName] == "" {
			return
		}
		key := s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName]
		if deleted {
			c.tracker.deleted(key, s.Name)
		}
		c.queue.Add(key)
	}
	if _, err := sl.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { sliceEvent(obj, false) },
		UpdateFunc: func(_, obj any) { sliceEvent(obj, false) },
		DeleteFunc: func(obj any) { sliceEvent(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("endpoint slice handler: %w", err)
	}
	return c, nil
}

func (c *Controller) podChanged(pod *corev1.Pod) {
	keys, err := endpoints.ServicesForPod(c.svcLister, pod)
	if err != nil {
		return
	}
	for key := range keys {
		c.queue.Add(key)
	}
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return Name }

// Run syncs services until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.events.Start()()
	defer c.queue.ShutDown()
	c.log.Info("starting controller")
	defer c.log.Info("shutting down controller")
	if err := controllers.WaitForSync(ctx, Name, c.synced...); err != nil {
		return err
	}
	controllers.RunLoops(ctx, c.workers, func(ctx context.Context) {
		for c.processNext(ctx) {
		}
	}, c.queue)
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	err := c.syncService(ctx, key)
	switch {
	case err == nil:
		c.queue.Forget(key)
	case c.queue.NumRequeues(key) < maxRetries:
		c.log.Info("error syncing endpoint slices, retrying", "service", key, "err", err)
		c.queue.AddRateLimited(key)
	default:
		c.log.Error("dropping service out of the queue", "service", key, "err", err)
		c.queue.Forget(key)
	}
	return true
}

// errStaleCache says the slice cache is older than this controller's own
// writes; the sync is retried.
var errStaleCache = errors.New("EndpointSlice informer cache is out of date")

func (c *Controller) syncService(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.svcLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The slices are owned by the service; the garbage collector
		// deletes them.
		c.trigger.Delete(key)
		c.tracker.forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		return nil
	}
	pods, err := c.podLister.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	existing, err := c.sliceLister.EndpointSlices(ns).List(labels.SelectorFromSet(labels.Set{
		discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: ControllerName,
	}))
	if err != nil {
		return err
	}
	if c.tracker.stale(key, existing) {
		return fmt.Errorf("service %s: %w", key, errStaleCache)
	}
	// Slices of an earlier service with the same name are not ours.
	own := existing[:0:0]
	for _, s := range existing {
		if s.DeletionTimestamp != nil {
			continue
		}
		if len(s.OwnerReferences) > 0 && s.OwnerReferences[0].UID != svc.UID {
			continue
		}
		own = append(own, s)
	}
	trigger := c.trigger.Compute(key, svc, pods)
	p := planSlices(svc, own, desiredGroups(svc, pods, c.nodeLister), c.maxPerSlice)
	if len(p.create)+len(p.update)+len(p.remove) == 0 {
		return nil
	}
	if err := c.apply(ctx, key, p, trigger); err != nil {
		c.events.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices", "Error updating Endpoint Slices for Service %s/%s: %v", ns, name, err)
		return err
	}
	return nil
}
