package ttlafterfinished

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Controller is the ttl-after-finished controller.
type Controller struct {
	client  kubernetes.Interface
	jobs    batchlisters.JobLister
	synced  cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	log     *slog.Logger
	clock   clock.WithTicker
	workers int
	// deletion observes how long after expiry jobs are deleted
	// (upstream's ttl_after_finished_controller_job_deletion_duration_seconds).
	deletion prometheus.Histogram
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the job informer and builds the controller.
func New(cc controllers.Context) (controllers.Controller, error) {
	inf := cc.Informers.Batch().V1().Jobs()
	c := &Controller{
		client: cc.Client, jobs: inf.Lister(), synced: inf.Informer().HasSynced,
		queue: controllers.NewQueue[string](cc, "ttl_jobs_to_delete"),
		log:   cc.Logger, clock: cc.Clock, workers: cc.Workers,
		deletion: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "ttl_after_finished_controller", Name: "job_deletion_duration_seconds",
			Help:    "The time it took to delete the job since it became eligible for deletion",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}),
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
	if cc.Metrics != nil {
		if err := cc.Metrics.Register(c.deletion); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("register ttl metrics: %w", err)
			}
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.add,
		UpdateFunc: func(_, cur any) { c.add(cur) },
	}); err != nil {
		return nil, fmt.Errorf("job informer handler: %w", err)
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return "ttl-after-finished" }

// Run implements controllers.Controller.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if err := controllers.WaitForSync(ctx, "ttl-after-finished", c.synced); err != nil {
		return err
	}
	controllers.RunWorkers(ctx, c.queue, c.workers, c.sync, c.log)
	return nil
}

func (c *Controller) add(obj any) {
	j, ok := obj.(*batchv1.Job)
	if !ok || !needsCleanup(j) {
		return
	}
	key, err := cache.MetaNamespaceKeyFunc(j)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	c.queue.Add(key)
}

// sync deletes the job if its TTL expired, or requeues it for when it
// will; the job is re-read from the API server first so that a TTL a user
// just extended is honoured.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	j, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if expired, err := c.expired(key, j); err != nil || !expired {
		return err
	}
	fresh, err := c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	if expired, err := c.expired(key, fresh); err != nil || !expired {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err = c.client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &fresh.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete job %s: %w", key, err)
	}
	if at, err := expireAt(fresh); err == nil {
		c.deletion.Observe(c.clock.Since(at).Seconds())
	}
	c.log.Info("deleted finished job after its TTL", "job", key)
	return nil
}

// expired reports whether j is due for deletion, requeueing it for the
// moment it will be otherwise.
func (c *Controller) expired(key string, j *batchv1.Job) (bool, error) {
	if !needsCleanup(j) {
		return false, nil
	}
	at, err := expireAt(j)
	if err != nil {
		return false, err
	}
	if left := at.Sub(c.clock.Now()); left > 0 {
		c.queue.AddAfter(key, left)
		return false, nil
	}
	return true, nil
}

func needsCleanup(j *batchv1.Job) bool {
	return j.Spec.TTLSecondsAfterFinished != nil && j.DeletionTimestamp == nil && finishTime(j) != nil
}

func finishTime(j *batchv1.Job) *metav1.Time {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return &c.LastTransitionTime
		}
	}
	return nil
}

func expireAt(j *batchv1.Job) (time.Time, error) {
	t := finishTime(j)
	if t == nil || t.IsZero() {
		return time.Time{}, fmt.Errorf("unable to find the time when the Job %s/%s finished", j.Namespace, j.Name)
	}
	return t.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second), nil
}
