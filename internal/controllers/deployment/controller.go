package deployment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Index names on the shared informers.
const (
	// orphanIndex keys ReplicaSets without a controller by namespace, so
	// adoption does not scan every ReplicaSet of a namespace.
	orphanIndex = "deployment.kplane.dev/orphan-replicasets"
)

// maxRetries is how often a failing key is retried before it is dropped
// until the next event, as upstream.
const maxRetries = 15

var controllerKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Controller is the deployment controller.
type Controller struct {
	client   kubernetes.Interface
	dLister  appslisters.DeploymentLister
	rsLister appslisters.ReplicaSetLister
	rsIndex  cache.Indexer
	podIndex cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger
	clock    clock.WithTicker
	workers  int
	events   *controllers.Events
	recorder record.EventRecorder
	metrics  *syncMetrics
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the deployment, ReplicaSet and pod informers and builds
// the controller.
func New(cc controllers.Context) (controllers.Controller, error) {
	dInf := cc.Informers.Apps().V1().Deployments()
	rsInf := cc.Informers.Apps().V1().ReplicaSets()
	podInf := cc.Informers.Core().V1().Pods()
	if err := controllers.AddOwnerUIDIndex(podInf.Informer()); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	if err := controllers.AddOwnerUIDIndex(rsInf.Informer()); err != nil {
		return nil, fmt.Errorf("replicaset informer: %w", err)
	}
	if err := addOrphanIndex(rsInf.Informer()); err != nil {
		return nil, fmt.Errorf("replicaset informer: %w", err)
	}
	metrics, err := newSyncMetrics(cc.Metrics)
	if err != nil {
		return nil, err
	}
	events := controllers.NewEvents(cc.Client, "deployment-controller")
	c := &Controller{
		client: cc.Client, dLister: dInf.Lister(), rsLister: rsInf.Lister(),
		rsIndex: rsInf.Informer().GetIndexer(), podIndex: podInf.Informer().GetIndexer(),
		synced: []cache.InformerSynced{dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced},
		queue:  controllers.NewQueue[string](cc, "deployment"),
		log:    cc.Logger, clock: cc.Clock, workers: cc.Workers, metrics: metrics,
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
	if _, err := dInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, fmt.Errorf("deployment informer handler: %w", err)
	}
	if _, err := rsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addReplicaSet,
		UpdateFunc: c.updateReplicaSet,
		DeleteFunc: c.deleteReplicaSet,
	}); err != nil {
		return nil, fmt.Errorf("replicaset informer handler: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: c.deletePod}); err != nil {
		return nil, fmt.Errorf("pod informer handler: %w", err)
	}
	return c, nil
}

// syncMetrics counts sync outcomes and durations.
type syncMetrics struct {
	errors   prometheus.Counter
	duration prometheus.Histogram
}

func newSyncMetrics(reg prometheus.Registerer) (*syncMetrics, error) {
	m := &syncMetrics{
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "deployment_controller_sync_errors_total",
			Help: "Deployment syncs that returned an error."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "deployment_controller_sync_duration_seconds",
			Help: "Duration of one Deployment sync.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	if reg == nil {
		return m, nil
	}
	if err := reg.Register(m.errors); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("register deployment metrics: %w", err)
		}
		m.errors = are.ExistingCollector.(prometheus.Counter)
	}
	if err := reg.Register(m.duration); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("register deployment metrics: %w", err)
		}
		m.duration = are.ExistingCollector.(prometheus.Histogram)
	}
	return m, nil
}

func addOrphanIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[orphanIndex]; ok {
		return nil
	}
	err := inf.AddIndexers(cache.Indexers{orphanIndex: func(obj any) ([]string, error) {
		m, err := controllers.MetaOf(obj)
		if err != nil {
			return nil, err
		}
		if metav1.GetControllerOfNoCopy(m) == nil {
			return []string{m.GetNamespace()}, nil
		}
		return nil, nil
	}})
	if err != nil {
		return fmt.Errorf("add %s index: %w", orphanIndex, err)
	}
	return nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return "deployment" }

// Run implements controllers.Controller: it waits for the caches and runs
// the workers until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.events.Start()()
	if err := controllers.WaitForSync(ctx, "deployment", c.synced...); err != nil {
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
	start := time.Now()
	err := c.syncDeployment(ctx, key)
	c.metrics.duration.Observe(time.Since(start).Seconds())
	switch {
	case err == nil || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		c.queue.Forget(key)
	case c.queue.NumRequeues(key) < maxRetries:
		c.metrics.errors.Inc()
		if ctx.Err() == nil && !apierrors.IsConflict(err) {
			c.log.Info("error syncing deployment, retrying", "deployment", key, "err", err)
		}
		c.queue.AddRateLimited(key)
	default:
		c.metrics.errors.Inc()
		c.log.Info("dropping deployment out of the queue", "deployment", key, "err", err)
		c.queue.Forget(key)
		utilruntime.HandleError(err)
	}
	return true
}

func (c *Controller) enqueue(obj any) { controllers.Enqueue(c.queue, obj) }

func (c *Controller) enqueueAfter(d *appsv1.Deployment, after time.Duration) {
	key, err := cache.MetaNamespaceKeyFunc(d)
	if err != nil {
		return
	}
	c.queue.AddAfter(key, after)
}

func (c *Controller) enqueueRateLimited(d *appsv1.Deployment) {
	key, err := cache.MetaNamespaceKeyFunc(d)
	if err != nil {
		return
	}
	c.queue.AddRateLimited(key)
}

// resolveControllerRef returns the Deployment a controllerRef points at,
// nil if it is not a Deployment or no longer exists with that UID.
func (c *Controller) resolveControllerRef(ns string, ref *metav1.OwnerReference) *appsv1.Deployment {
	if ref.Kind != controllerKind.Kind {
		return nil
	}
	d, err := c.dLister.Deployments(ns).Get(ref.Name)
	if err != nil || d.UID != ref.UID {
		return nil
	}
	return d
}

// deploymentsForReplicaSet lists the Deployments whose selector matches an
// orphaned ReplicaSet, so one of them can adopt it.
func (c *Controller) deploymentsForReplicaSet(rs *appsv1.ReplicaSet) []*appsv1.Deployment {
	if len(rs.Labels) == 0 {
		return nil
	}
	ds, err := c.dLister.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*appsv1.Deployment
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(rs.Labels)) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func (c *Controller) addReplicaSet(obj any) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	if rs.DeletionTimestamp != nil {
		c.deleteReplicaSet(rs)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(rs); ref != nil {
		if d := c.resolveControllerRef(rs.Namespace, ref); d != nil {
			c.enqueue(d)
		}
		return
	}
	for _, d := range c.deploymentsForReplicaSet(rs) {
		c.enqueue(d)
	}
}

func (c *Controller) updateReplicaSet(oldObj, curObj any) {
	cur, ok1 := curObj.(*appsv1.ReplicaSet)
	old, ok2 := oldObj.(*appsv1.ReplicaSet)
	if !ok1 || !ok2 || cur.ResourceVersion == old.ResourceVersion {
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if d := c.resolveControllerRef(old.Namespace, oldRef); d != nil {
			c.enqueue(d)
		}
	}
	if curRef != nil {
		if d := c.resolveControllerRef(cur.Namespace, curRef); d != nil {
			c.enqueue(d)
		}
		return
	}
	if refChanged || !reflect.DeepEqual(cur.Labels, old.Labels) {
		for _, d := range c.deploymentsForReplicaSet(cur) {
			c.enqueue(d)
		}
	}
}

func (c *Controller) deleteReplicaSet(obj any) {
	m, err := controllers.MetaOf(obj)
	if err != nil {
		return
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		if d := c.resolveControllerRef(m.GetNamespace(), ref); d != nil {
			c.enqueue(d)
		}
	}
}

// deletePod requeues a Recreate Deployment once its last pod is gone, so
// the new ReplicaSet is scaled up without waiting for a resync.
func (c *Controller) deletePod(obj any) {
	m, err := controllers.MetaOf(obj)
	if err != nil {
		return
	}
	ref := metav1.GetControllerOfNoCopy(m)
	if ref == nil || ref.Kind != "ReplicaSet" {
		return
	}
	rs, err := c.rsLister.ReplicaSets(m.GetNamespace()).Get(ref.Name)
	if err != nil || rs.UID != ref.UID {
		return
	}
	dref := metav1.GetControllerOfNoCopy(rs)
	if dref == nil {
		return
	}
	d := c.resolveControllerRef(rs.Namespace, dref)
	if d == nil || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		return
	}
	owned, err := c.ownedReplicaSets(d)
	if err != nil {
		return
	}
	n := 0
	for _, pods := range c.podMap(owned) {
		n += len(pods)
	}
	if n == 0 {
		c.enqueue(d)
	}
}

// ownedReplicaSets lists the ReplicaSets whose controller is d.
func (c *Controller) ownedReplicaSets(d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	objs, err := c.rsIndex.ByIndex(controllers.OwnerUIDIndex, string(d.UID))
	if err != nil {
		return nil, fmt.Errorf("list replica sets of %s/%s: %w", d.Namespace, d.Name, err)
	}
	out := make([]*appsv1.ReplicaSet, 0, len(objs))
	for _, o := range objs {
		if rs, ok := o.(*appsv1.ReplicaSet); ok && rs.Namespace == d.Namespace {
			out = append(out, rs)
		}
	}
	return out, nil
}

// podMap groups the pods controlled by each ReplicaSet by its UID.
func (c *Controller) podMap(rsList []*appsv1.ReplicaSet) map[types.UID][]*corev1.Pod {
	m := make(map[types.UID][]*corev1.Pod, len(rsList))
	for _, rs := range rsList {
		objs, _ := c.podIndex.ByIndex(controllers.OwnerUIDIndex, string(rs.UID))
		pods := make([]*corev1.Pod, 0, len(objs))
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok && p.Namespace == rs.Namespace {
				pods = append(pods, p)
			}
		}
		m[rs.UID] = pods
	}
	return m
}

// syncDeployment reconciles one Deployment, as upstream's syncDeployment.
func (c *Controller) syncDeployment(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("bad key %q: %w", key, err)
	}
	cached, err := c.dLister.Deployments(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get deployment %s: %w", key, err)
	}
	d := cached.DeepCopy()

	if d.Spec.Selector == nil || reflect.DeepEqual(*d.Spec.Selector, metav1.LabelSelector{}) {
		c.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, _ = c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
		}
		return nil
	}

	rsList, err := c.replicaSetsForDeployment(ctx, d)
	if err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return c.syncStatusOnly(ctx, d, rsList)
	}
	if err := c.checkPausedConditions(ctx, d); err != nil {
		return err
	}
	if d.Spec.Paused {
		return c.sync(ctx, d, rsList)
	}
	if rollbackTo(d) != nil {
		return c.rollback(ctx, d, rsList)
	}
	scaling, err := c.isScalingEvent(ctx, d, rsList)
	if err != nil {
		return err
	}
	if scaling {
		return c.sync(ctx, d, rsList)
	}
	switch d.Spec.Strategy.Type {
	case appsv1.RecreateDeploymentStrategyType:
		return c.rolloutRecreate(ctx, d, rsList, c.podMap(rsList))
	case appsv1.RollingUpdateDeploymentStrategyType:
		return c.rolloutRolling(ctx, d, rsList)
	}
	return fmt.Errorf("unexpected deployment strategy type: %s", d.Spec.Strategy.Type)
}

// updateStatus writes d's status (and, as upstream's status subresource
// allows for Deployments, its annotations) and carries the new
// resourceVersion forward so later writes in the same sync do not
// conflict with our own.
func (c *Controller) updateStatus(ctx context.Context, d *appsv1.Deployment) error {
	out, err := c.client.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	if err != nil {
		return fmt.Errorf("update status of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	d.ResourceVersion = out.ResourceVersion
	return nil
}
