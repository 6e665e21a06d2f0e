package replicaset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
)

// BurstReplicas caps the pods one sync creates or deletes (upstream's
// burstReplicas); the rest waits for the next sync, after the watch events
// of this batch were observed.
const BurstReplicas = 500

// slowStartInitialBatchSize is the first batch of a slow start.
const slowStartInitialBatchSize = 1

// Controller is the ReplicaSet controller, or, over a different kind
// adapter, the ReplicationController controller.
type Controller struct {
	name      string // --controllers name
	component string // event source
	kind      kind
	client    kubernetes.Interface
	log       *slog.Logger
	clock     clock.WithTicker
	workers   int
	burst     int
	exp       *expectations
	metrics   *syncMetrics

	pods        *podControl
	broadcaster record.EventBroadcaster

	podIndexer   cache.Indexer
	ownerIndexer cache.Indexer
	synced       []cache.InformerSynced

	queue workqueue.TypedRateLimitingInterface[string]
}

var _ controllers.Controller = (*Controller)(nil)

// New builds the replicaset controller.
func New(ctx controllers.Context) (controllers.Controller, error) {
	return newController(ctx, "replicaset", "replicaset", "replicaset-controller", newReplicaSets(ctx.Client, ctx.Informers))
}

// NewReplicationController builds the replicationcontroller controller:
// the same controller over ReplicationControllers.
func NewReplicationController(ctx controllers.Context) (controllers.Controller, error) {
	return newController(ctx, "replicationcontroller", "replicationmanager", "replication-controller",
		newReplicationControllers(ctx.Client, ctx.Informers))
}

func newController(ctx controllers.Context, name, queueName, component string, k kind) (*Controller, error) {
	if ctx.Client == nil || ctx.Informers == nil {
		return nil, errors.New("replicaset: client and informers are required")
	}
	c := &Controller{
		name: name, component: component, kind: k, client: ctx.Client,
		log: ctx.Logger, clock: ctx.Clock, workers: ctx.Workers, burst: BurstReplicas,
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
	c.exp = newExpectations(c.clock)
	reg := ctx.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newSyncMetrics(reg, name)
	if err != nil {
		return nil, err
	}
	c.metrics = m
	c.queue = controllers.NewQueue[string](ctx, queueName)

	owners := k.informer()
	if err := addIndexers(owners, cache.Indexers{OwnerUIDIndex: controllers.OwnerUIDIndexFunc}); err != nil {
		return nil, fmt.Errorf("%s informer: %w", name, err)
	}
	ownerReg, err := owners.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.addOwner, UpdateFunc: c.updateOwner, DeleteFunc: c.deleteOwner,
	})
	if err != nil {
		return nil, fmt.Errorf("%s informer: %w", name, err)
	}
	pods := ctx.Informers.Core().V1().Pods().Informer()
	if err := addIndexers(pods, cache.Indexers{OwnerUIDIndex: controllers.OwnerUIDIndexFunc, OrphanNamespaceIndex: orphanNamespaceIndexFunc}); err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	podReg, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: c.addPod, UpdateFunc: c.updatePod, DeleteFunc: c.deletePod,
	})
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	c.podIndexer = pods.GetIndexer()
	c.ownerIndexer = owners.GetIndexer()
	c.synced = []cache.InformerSynced{ownerReg.HasSynced, podReg.HasSynced}
	return c, nil
}

// Name is the controller's --controllers name.
func (c *Controller) Name() string { return c.name }

// Run records events, waits for the caches and runs the workers until ctx
// ends.
func (c *Controller) Run(ctx context.Context) error {
	c.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.pods = &podControl{client: c.client, recorder: c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: c.component})}
	defer c.queue.ShutDown()

	c.log.Info("starting controller", "workers", c.workers)
	defer c.log.Info("shutting down controller")
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("%s: caches did not sync: %w", c.name, ctx.Err())
	}
	var wg sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}

func (c *Controller) processNext(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	start := time.Now()
	err := c.sync(ctx, key)
	c.metrics.observe(time.Since(start), err)
	if err == nil {
		c.queue.Forget(key)
		return true
	}
	if ctx.Err() == nil {
		c.log.Error("sync failed", "key", key, "err", err)
	}
	c.queue.AddRateLimited(key)
	return true
}

// syncMetrics are the per-controller sync duration and error count.
type syncMetrics struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

func newSyncMetrics(reg prometheus.Registerer, controller string) (*syncMetrics, error) {
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "replicaset_controller_sync_duration_seconds", Help: "How long one sync of a ReplicaSet or ReplicationController takes.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"controller"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "replicaset_controller_sync_errors_total", Help: "Syncs of a ReplicaSet or ReplicationController that failed and were requeued.",
	}, []string{"controller"})
	dur, err := register(reg, dur)
	if err != nil {
		return nil, err
	}
	errs, err = register(reg, errs)
	if err != nil {
		return nil, err
	}
	return &syncMetrics{duration: dur.WithLabelValues(controller), errors: errs.WithLabelValues(controller)}, nil
}

// register registers col, or returns the identical collector registered
// by the sibling controller (replicaset and replicationcontroller share the
// metric names, labelled by controller).
func register[T prometheus.Collector](reg prometheus.Registerer, col T) (T, error) {
	if err := reg.Register(col); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return col, fmt.Errorf("register metrics: %w", err)
	}
	return col, nil
}

func (m *syncMetrics) observe(d time.Duration, err error) {
	m.duration.Observe(d.Seconds())
	if err != nil {
		m.errors.Inc()
	}
}
