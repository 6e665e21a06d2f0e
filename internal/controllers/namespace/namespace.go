package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// Name is the controller's name in --controllers.
const Name = "namespace"

// deletionGracePeriod delays work on a namespace event, as upstream, so
// that objects created at the last moment (possibly through another API
// server) are seen by the deletion pass.
const deletionGracePeriod = 5 * time.Second

// Controller deletes the content of terminating namespaces.
type Controller struct {
	log     *slog.Logger
	workers int
	lister  corelisters.NamespaceLister
	synced  cache.InformerSynced
	queue   workqueue.TypedRateLimitingInterface[string]
	deleter *deleter

	syncErrors prometheus.Counter
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the controller on the shared namespace informer.
func New(ctx controllers.Context) (controllers.Controller, error) {
	// ctx.Metadata carries the controller's own service account
	// (namespace-controller), which may delete any namespaced object.
	meta := ctx.Metadata
	if meta == nil {
		return nil, errors.New("namespace controller needs a metadata client")
	}
	if ctx.Clock == nil {
		ctx.Clock = clock.RealClock{}
	}
	inf := ctx.Informers.Core().V1().Namespaces()
	c := &Controller{
		log: ctx.Logger, workers: max(ctx.Workers, 1), lister: inf.Lister(),
		deleter: &deleter{client: ctx.Client, meta: meta, discover: ctx.Client.Discovery().ServerPreferredNamespacedResources, clock: ctx.Clock},
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "namespace_controller_sync_error_total",
			Help: "Number of namespace deletion passes that ended in an error"}),
	}
	// As upstream: retry a namespace at least every minute, and at most
	// 10 passes per second overall (burst 100).
	c.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedMaxOfRateLimiter(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, 60*time.Second),
			&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
		),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace", MetricsProvider: ctx.Queues})
	if ctx.Metrics != nil {
		if err := ctx.Metrics.Register(c.syncErrors); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				c.syncErrors = are.ExistingCollector.(prometheus.Counter)
			}
		}
	}
	reg, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj any) { c.enqueue(obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("namespace informer: %w", err)
	}
	c.synced = reg.HasSynced
	return c, nil
}

// Name implements controllers.Controller.
func (c *Controller) Name() string { return Name }

func (c *Controller) enqueue(obj any) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok || ns.DeletionTimestamp == nil {
		return
	}
	c.queue.AddAfter(ns.Name, deletionGracePeriod)
}

// Run processes terminating namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if !cache.WaitForNamedCacheSync(Name, ctx.Done(), c.synced) {
		return nil
	}
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.process(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) process(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	err := c.sync(ctx, name)
	var remaining *remainingError
	switch {
	case err == nil:
		c.queue.Forget(name)
	case errors.As(err, &remaining):
		// Wait about half the estimate, as upstream, then look again.
		c.queue.AddAfter(name, time.Duration(remaining.Estimate/2+1)*time.Second)
	default:
		c.syncErrors.Inc()
		if ctx.Err() == nil {
			c.log.Info("namespace deletion incomplete, retrying", "namespace", name, "err", err)
		}
		c.queue.AddRateLimited(name)
	}
	return true
}

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.lister.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	start := time.Now()
	defer func() { c.log.Debug("namespace deletion pass", "namespace", name, "duration", time.Since(start)) }()
	return c.deleter.delete(ctx, name)
}
