package job

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Controller is the job controller.
type Controller struct {
	client   kubernetes.Interface
	jobs     batchlisters.JobLister
	pods     cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	orphans  workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger
	clock    clock.WithTicker
	workers  int
	exp      *expectations
	written  *writtenStore
	backoff  *backoffStore
	events   *controllers.Events
	recorder record.EventRecorder
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the job and pod informers and builds the controller.
func New(cc controllers.Context) (controllers.Controller, error) {
	jobInf := cc.Informers.Batch().V1().Jobs()
	podInf := cc.Informers.Core().V1().Pods()
	if err := controllers.AddOwnerUIDIndex(podInf.Informer()); err != nil {
		return nil, err
	}
	events := controllers.NewEvents(cc.Client, "job-controller")
	c := &Controller{
		client: cc.Client, jobs: jobInf.Lister(), pods: podInf.Informer().GetIndexer(),
		synced:  []cache.InformerSynced{jobInf.Informer().HasSynced, podInf.Informer().HasSynced},
		queue:   controllers.NewQueue[string](cc, "job"),
		orphans: controllers.NewQueue[string](cc, "job_orphan_pod"),
		log:     cc.Logger, clock: cc.Clock, workers: cc.Workers, exp: newExpectations(), backoff: newBackoffStore(), written: newWrittenStore(),
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
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addJob,
		UpdateFunc: func(_, cur any) { c.addJob(cur) },
		DeleteFunc: c.deleteJob,
	}); err != nil {
		return nil, fmt.Errorf("job informer handler: %w", err)
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("pod informer handler: %w", err)
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return "job" }

// Run implements controllers.Controller.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.orphans.ShutDown()
	defer c.events.Start()()
	if err := controllers.WaitForSync(ctx, "job", c.synced...); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { controllers.RunWorkers(ctx, c.orphans, 1, c.syncOrphanPod, c.log) })
	controllers.RunWorkers(ctx, c.queue, c.workers, c.syncJob, c.log)
	wg.Wait()
	return nil
}

func (c *Controller) enqueue(obj any) { controllers.Enqueue(c.queue, obj) }

func (c *Controller) addJob(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	c.enqueue(j)
	if finished(j) {
		// Pods of a finished job lose their tracking finalizer.
		c.enqueueOwnedPods(j)
		return
	}
	if j.Status.StartTime != nil && j.Spec.ActiveDeadlineSeconds != nil {
		left := time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second - c.clock.Since(j.Status.StartTime.Time)
		if left > 0 {
			key, _ := cache.MetaNamespaceKeyFunc(j)
			c.queue.AddAfter(key, left)
		}
	}
}

func (c *Controller) deleteJob(obj any) {
	m, err := controllers.MetaOf(obj)
	if err != nil {
		return
	}
	c.enqueue(obj)
	if j, ok := obj.(*batchv1.Job); ok {
		c.enqueueOwnedPods(j)
		return
	}
	pods, _ := c.pods.ByIndex(controllers.OwnerUIDIndex, string(m.GetUID()))
	for _, p := range pods {
		c.enqueueOrphan(p.(*corev1.Pod))
	}
}

func (c *Controller) enqueueOwnedPods(j *batchv1.Job) {
	pods, _ := c.pods.ByIndex(controllers.OwnerUIDIndex, string(j.UID))
	for _, p := range pods {
		c.enqueueOrphan(p.(*corev1.Pod))
	}
}

func (c *Controller) enqueueOrphan(p *corev1.Pod) {
	if hasFinalizer(p) {
		c.orphans.Add(p.Namespace + "/" + p.Name)
	}
}

// jobKeyOf is the key of the job controlling pod, or "".
func jobKeyOf(p *corev1.Pod) string {
	ref := metav1.GetControllerOfNoCopy(p)
	if ref == nil || ref.Kind != "Job" || ref.APIVersion != batchv1.SchemeGroupVersion.String() {
		return ""
	}
	return p.Namespace + "/" + ref.Name
}

func (c *Controller) addPod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := jobKeyOf(p)
	if key == "" {
		c.enqueueOrphan(p)
		return
	}
	if p.DeletionTimestamp != nil {
		c.exp.Observe(key, 0, 1)
	} else {
		c.exp.Observe(key, 1, 0)
	}
	c.queue.Add(key)
	if _, err := c.jobs.Jobs(p.Namespace).Get(metav1.GetControllerOfNoCopy(p).Name); apierrors.IsNotFound(err) {
		c.enqueueOrphan(p)
	}
}

func (c *Controller) updatePod(old, cur any) {
	op, ok1 := old.(*corev1.Pod)
	p, ok2 := cur.(*corev1.Pod)
	if !ok1 || !ok2 || op.ResourceVersion == p.ResourceVersion {
		return
	}
	key := jobKeyOf(p)
	if key == "" {
		c.enqueueOrphan(p)
	} else {
		if p.DeletionTimestamp != nil && op.DeletionTimestamp == nil {
			c.exp.Observe(key, 0, 1)
		}
		if !hasFinalizer(p) && hasFinalizer(op) {
			c.exp.finalizerRemoved(key, string(p.UID))
		}
		c.queue.Add(key)
		if _, err := c.jobs.Jobs(p.Namespace).Get(metav1.GetControllerOfNoCopy(p).Name); apierrors.IsNotFound(err) {
			c.enqueueOrphan(p)
		}
	}
	if oldKey := jobKeyOf(op); oldKey != "" && oldKey != key {
		c.queue.Add(oldKey)
	}
}

func (c *Controller) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := jobKeyOf(p)
	if key == "" {
		return
	}
	if p.DeletionTimestamp == nil {
		c.exp.Observe(key, 0, 1)
	}
	c.exp.finalizerRemoved(key, string(p.UID))
	c.queue.Add(key)
}

// syncOrphanPod removes the tracking finalizer from a pod whose job is gone
// or finished, so that the pod can be deleted.
func (c *Controller) syncOrphanPod(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	obj, exists, err := c.pods.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	p := obj.(*corev1.Pod)
	if !hasFinalizer(p) {
		return nil
	}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.Kind == "Job" {
		j, err := c.jobs.Jobs(ns).Get(ref.Name)
		if err == nil && j.UID == ref.UID && !finished(j) {
			// The job controller counts this pod first.
			return nil
		}
	}
	if err := c.removeFinalizer(ctx, p); err != nil {
		return fmt.Errorf("remove finalizer from orphan pod %s/%s: %w", ns, name, err)
	}
	return nil
}
