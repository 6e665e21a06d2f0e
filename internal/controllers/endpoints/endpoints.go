package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/workqueue"

	"kplane/internal/controllers"
)

// Name is the controller's --controllers name.
const Name = "endpoints"

// maxRetries is how often a failing service is retried before it is
// dropped until its next change.
const maxRetries = 15

// Controller keeps Endpoints in line with Services and pods.
type Controller struct {
	client    kubernetes.Interface
	log       *slog.Logger
	workers   int
	svcLister corelisters.ServiceLister
	podLister corelisters.PodLister
	epLister  corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
	trigger   *TriggerTimeTracker

	events *controllers.Events

	staleMu sync.Mutex // guards stale
	// stale maps a service key to the resourceVersion of Endpoints this
	// controller already replaced, so a lagging cache is not mistaken
	// for the current state.
	stale map[string]string
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the controller on the shared pod, service and endpoints
// informers.
func New(ctx controllers.Context) (controllers.Controller, error) {
	log := ctx.Logger
	if log == nil {
		log = slog.Default()
	}
	svcs := ctx.Informers.Core().V1().Services()
	pods := ctx.Informers.Core().V1().Pods()
	eps := ctx.Informers.Core().V1().Endpoints()
	c := &Controller{
		client: ctx.Client, log: log, workers: max(ctx.Workers, 1),
		svcLister: svcs.Lister(), podLister: pods.Lister(), epLister: eps.Lister(),
		synced:  []cache.InformerSynced{svcs.Informer().HasSynced, pods.Informer().HasSynced, eps.Informer().HasSynced},
		queue:   controllers.NewQueue[string](ctx, "endpoint"),
		trigger: NewTriggerTimeTracker(),
		events:  controllers.NewEvents(ctx.Client, "endpoint-controller"),
		stale:   map[string]string{},
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
			for key := range ServicesToUpdateOnPodChange(c.svcLister, old.(*corev1.Pod), obj.(*corev1.Pod)) {
				c.queue.Add(key)
			}
		},
		DeleteFunc: func(obj any) {
			if p := PodFromDeleteEvent(obj); p != nil {
				c.podChanged(p)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("pod handler: %w", err)
	}
	if _, err := eps.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: enqueue}); err != nil {
		return nil, fmt.Errorf("endpoints handler: %w", err)
	}
	return c, nil
}

func (c *Controller) podChanged(pod *corev1.Pod) {
	keys, err := ServicesForPod(c.svcLister, pod)
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
	c.checkLeftoverEndpoints()
	controllers.RunLoops(ctx, c.workers, func(ctx context.Context) {
		for c.processNext(ctx) {
		}
	}, c.queue)
	return nil
}

// checkLeftoverEndpoints queues every Endpoints object once at start, so
// that ones whose service went away while the controller was down are
// deleted. Leader election records are left alone.
func (c *Controller) checkLeftoverEndpoints() {
	list, err := c.epLister.List(labels.Everything())
	if err != nil {
		c.log.Error("listing endpoints; orphaned endpoints will not be cleaned up", "err", err)
		return
	}
	for _, ep := range list {
		if _, ok := ep.Annotations[resourcelock.LeaderElectionRecordAnnotationKey]; ok {
			continue
		}
		c.queue.Add(ep.Namespace + "/" + ep.Name)
	}
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
		c.log.Info("error syncing endpoints, retrying", "service", key, "err", err)
		c.queue.AddRateLimited(key)
	default:
		c.log.Error("dropping service out of the queue", "service", key, "err", err)
		c.queue.Forget(key)
	}
	return true
}

func (c *Controller) syncService(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := c.svcLister.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		err := c.client.CoreV1().Endpoints(ns).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		}
		c.trigger.Delete(key)
		c.staleMu.Lock()
		delete(c.stale, key)
		c.staleMu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName || svc.Spec.Selector == nil {
		// No endpoints from this controller: a selector-less service's
		// Endpoints are managed by its owner.
		return nil
	}
	pods, err := c.podLister.Pods(ns).List(labels.SelectorFromValidatedSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	triggerTime := c.trigger.Compute(key, svc, pods)
	subsets := DesiredSubsets(svc, pods)

	cur, err := c.epLister.Endpoints(ns).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		cur = &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: svc.Labels}}
	case err != nil:
		return err
	default:
		c.staleMu.Lock()
		staleRV := c.stale[key]
		c.staleMu.Unlock()
		if staleRV != "" && staleRV == cur.ResourceVersion {
			return fmt.Errorf("endpoints informer cache is out of date, resource version %s already processed for endpoints %s", cur.ResourceVersion, key)
		}
	}
	create := cur.ResourceVersion == ""
	compareLabels := cur.Labels
	if _, ok := compareLabels[corev1.IsHeadlessService]; ok {
		compareLabels = maps.Clone(compareLabels)
		delete(compareLabels, corev1.IsHeadlessService)
	}
	if !create && apiequality.Semantic.DeepEqual(cur.Subsets, subsets) &&
		apiequality.Semantic.DeepEqual(compareLabels, svc.Labels) &&
		capacityAnnotationCorrect(cur.Annotations, cur.Subsets) {
		return nil
	}
	next := cur.DeepCopy()
	next.Subsets = subsets
	next.Labels = maps.Clone(svc.Labels)
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	if !triggerTime.IsZero() {
		next.Annotations[corev1.EndpointsLastChangeTriggerTime] = triggerTime.UTC().Format(time.RFC3339Nano)
	} else {
		delete(next.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
	if truncate(next.Subsets) {
		next.Annotations[corev1.EndpointsOverCapacity] = "truncated"
	} else {
		delete(next.Annotations, corev1.EndpointsOverCapacity)
	}
	if !IsServiceIPSet(svc) {
		next.Labels[corev1.IsHeadlessService] = ""
	}
	var updated *corev1.Endpoints
	if create {
		_, err = c.client.CoreV1().Endpoints(ns).Create(ctx, next, metav1.CreateOptions{})
	} else {
		updated, err = c.client.CoreV1().Endpoints(ns).Update(ctx, next, metav1.UpdateOptions{})
	}
	if err != nil {
		if create && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if create {
			c.events.Eventf(next, corev1.EventTypeWarning, "FailedToCreateEndpoint", "Failed to create endpoint for service %v/%v: %v", ns, name, err)
			return fmt.Errorf("create endpoints %s: %w", key, err)
		}
		c.events.Eventf(next, corev1.EventTypeWarning, "FailedToUpdateEndpoint", "Failed to update endpoint %v/%v: %v", ns, name, err)
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	if updated != nil && updated.ResourceVersion != cur.ResourceVersion {
		c.staleMu.Lock()
		c.stale[key] = cur.ResourceVersion
		c.staleMu.Unlock()
	}
	return nil
}

// DesiredSubsets computes a service's Endpoints subsets from its pods.
func DesiredSubsets(svc *corev1.Service, pods []*corev1.Pod) []corev1.EndpointSubset {
	tolerateUnready := svc.Spec.PublishNotReadyAddresses
	var entries []entry
	for _, pod := range pods {
		if !ShouldPodBeInEndpoints(pod, tolerateUnready) {
			continue
		}
		ip := PodIPOfFamily(pod, ServiceIPFamily(svc, pod))
		if ip == "" {
			continue
		}
		nodeName := pod.Spec.NodeName
		addr := corev1.EndpointAddress{
			IP:        ip,
			NodeName:  &nodeName,
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		}
		if ShouldSetHostname(pod, svc) {
			addr.Hostname = pod.Spec.Hostname
		}
		ready := tolerateUnready || IsPodReady(pod)
		if len(svc.Spec.Ports) == 0 {
			if svc.Spec.ClusterIP == corev1.ClusterIPNone {
				entries = append(entries, entry{addr: addr, ready: ready})
			}
			continue
		}
		for i := range svc.Spec.Ports {
			sp := &svc.Spec.Ports[i]
			num, err := FindPort(pod, sp)
			if err != nil {
				continue
			}
			entries = append(entries, entry{addr: addr, ready: ready, port: &corev1.EndpointPort{
				Name: sp.Name, Port: int32(num), Protocol: sp.Protocol, AppProtocol: sp.AppProtocol,
			}})
		}
	}
	return repack(entries)
}
