package cronjob

import (
	"context"
	"fmt"
	"log/slog"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Controller is the cronjob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     batchlisters.JobLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	log      *slog.Logger
	clock    clock.WithTicker
	workers  int
	events   *controllers.Events
	recorder record.EventRecorder
}

var _ controllers.Controller = (*Controller)(nil)

// New registers the cronjob and job informers.
func New(cc controllers.Context) (controllers.Controller, error) {
	cjInf := cc.Informers.Batch().V1().CronJobs()
	jobInf := cc.Informers.Batch().V1().Jobs()
	events := controllers.NewEvents(cc.Client, "cronjob-controller")
	c := &Controller{
		client: cc.Client, cronJobs: cjInf.Lister(), jobs: jobInf.Lister(),
		synced: []cache.InformerSynced{cjInf.Informer().HasSynced, jobInf.Informer().HasSynced},
		queue:  controllers.NewQueue[string](cc, "cronjob"),
		log:    cc.Logger, clock: cc.Clock, workers: cc.Workers,
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
	if _, err := cjInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.enqueue, UpdateFunc: func(_, o any) { c.enqueue(o) }, DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, fmt.Errorf("cronjob informer handler: %w", err)
	}
	jobChanged := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if j, ok := obj.(*batchv1.Job); ok {
			if ref := metav1.GetControllerOfNoCopy(j); ref != nil && ref.Kind == "CronJob" {
				c.queue.Add(j.Namespace + "/" + ref.Name)
			}
		}
	}
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: jobChanged, UpdateFunc: func(_, o any) { jobChanged(o) }, DeleteFunc: jobChanged,
	}); err != nil {
		return nil, fmt.Errorf("job informer handler: %w", err)
	}
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return "cronjob" }

// Run implements controllers.Controller.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	defer c.events.Start()()
	if err := controllers.WaitForSync(ctx, "cronjob", c.synced...); err != nil {
		return err
	}
	controllers.RunWorkers(ctx, c.queue, c.workers, c.sync, c.log)
	return nil
}

func (c *Controller) enqueue(obj any) { controllers.Enqueue(c.queue, obj) }
