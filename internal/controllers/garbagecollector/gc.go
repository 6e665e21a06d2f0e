package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"kplane/internal/controllers"
)

// Name is the controller's name in --controllers.
const Name = "garbagecollector"

// resyncPeriod is how often discovery is re-run to find new resources.
const resyncPeriod = 30 * time.Second

// GarbageCollector deletes objects whose owners are gone and carries out
// foreground and orphan deletion.
type GarbageCollector struct {
	log     *slog.Logger
	workers int
	disc    discovery.DiscoveryInterface
	// writer deletes and patches with the collector's own credentials.
	writer metadata.Interface

	graph    *graph
	builder  *builder
	mapper   *mapper
	monitors *monitors
	absent   *absentCache

	changes  workqueue.TypedInterface[*event]
	toDelete workqueue.TypedRateLimitingInterface[types.UID]
	toOrphan workqueue.TypedRateLimitingInterface[types.UID]

	syncErrors prometheus.Counter
}

var _ controllers.Controller = (*GarbageCollector)(nil)

// New builds the collector. Its informers are created at Run, after
// discovery, on the shared factory where the factory knows the resource.
// Deletes and patches go through ctx.Metadata, which carries the
// collector's own service account (generic-garbage-collector).
func New(ctx controllers.Context) (controllers.Controller, error) {
	if ctx.Metadata == nil {
		return nil, errors.New("garbage collector needs a metadata client")
	}
	return newCollector(ctx, ctx.Metadata), nil
}

func newCollector(ctx controllers.Context, writer metadata.Interface) *GarbageCollector {
	rl := workqueue.DefaultTypedControllerRateLimiter[types.UID]()
	gc := &GarbageCollector{
		log: ctx.Logger, workers: ctx.Workers, disc: ctx.Client.Discovery(), writer: writer,
		graph: newGraph(), mapper: &mapper{}, absent: newAbsentCache(100_000),
		changes: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[*event]{
			Name: "garbage_collector_graph_changes", MetricsProvider: ctx.Queues}),
		toDelete: workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[types.UID]{
			Name: "garbage_collector_attempt_to_delete", MetricsProvider: ctx.Queues}),
		toOrphan: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "garbage_collector_attempt_to_orphan", MetricsProvider: ctx.Queues}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "garbagecollector_controller_resources_sync_error_total",
			Help: "Number of garbage collector resources sync errors"}),
	}
	if gc.workers <= 0 {
		gc.workers = 1
	}
	if ctx.Metrics != nil {
		if err := ctx.Metrics.Register(gc.syncErrors); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				gc.syncErrors = are.ExistingCollector.(prometheus.Counter)
			}
		}
	}
	gc.builder = &builder{g: gc.graph, q: gc, absent: gc.absent}
	gc.monitors = &monitors{shared: ctx.Informers, meta: ctx.Metadata, send: gc.changes.Add}
	return gc
}

// Name implements controllers.Controller.
func (gc *GarbageCollector) Name() string { return Name }

func (gc *GarbageCollector) attemptToDelete(uid types.UID) { gc.toDelete.Add(uid) }
func (gc *GarbageCollector) attemptToOrphan(uid types.UID) { gc.toOrphan.Add(uid) }

// Run discovers resources, waits for the graph to be built and collects
// garbage until ctx ends.
func (gc *GarbageCollector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		gc.changes.ShutDown()
		gc.toDelete.ShutDown()
		gc.toOrphan.ShutDown()
		wg.Wait()
		gc.monitors.stopAll()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for gc.processChange() {
		}
	}()

	// Discovery must succeed once before the graph means anything.
	var synced []cache.InformerSynced
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := gc.resync(ctx)
		if err != nil && s == nil {
			gc.log.Error("garbage collector discovery failed, retrying", "err", err)
			return false, nil
		}
		synced = s
		return true, nil
	})
	if err != nil {
		return nil // ctx ended
	}
	if !cache.WaitForNamedCacheSync(Name, ctx.Done(), synced...) {
		return nil
	}
	gc.log.Info("garbage collector synced", "resources", len(synced), "nodes", gc.graph.len())

	for range gc.workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for gc.processDelete(ctx) {
			}
		}()
		go func() {
			defer wg.Done()
			for gc.processOrphan(ctx) {
			}
		}()
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if _, err := gc.resync(ctx); err != nil && ctx.Err() == nil {
			gc.log.Error("garbage collector resync", "err", err)
		}
	}, resyncPeriod)
	return nil
}

// resync re-runs discovery and adjusts the monitors. It returns nil synced
// funcs only when nothing could be discovered.
func (gc *GarbageCollector) resync(ctx context.Context) ([]cache.InformerSynced, error) {
	ms, err := deletable(ctx, gc.disc)
	if err != nil {
		gc.syncErrors.Inc()
	}
	if len(ms) == 0 {
		if err == nil {
			err = errors.New("discovery found no deletable resources")
		}
		return nil, err
	}
	gc.mapper.set(ms)
	return gc.monitors.sync(ctx, ms), err
}

func (gc *GarbageCollector) processChange() bool {
	e, quit := gc.changes.Get()
	if quit {
		return false
	}
	defer gc.changes.Done(e)
	gc.builder.apply(e)
	return true
}

// errRequeue asks for a rate-limited retry without logging an error.
var errRequeue = errors.New("requeue")

func (gc *GarbageCollector) processDelete(ctx context.Context) bool {
	uid, quit := gc.toDelete.Get()
	if quit {
		return false
	}
	defer gc.toDelete.Done(uid)
	err := gc.attemptToDeleteItem(ctx, uid)
	switch {
	case err == nil:
		gc.toDelete.Forget(uid)
	case errors.Is(err, errRequeue):
		gc.toDelete.AddRateLimited(uid)
	default:
		if ctx.Err() == nil {
			gc.log.Info("garbage collector: retrying delete", "uid", uid, "err", err)
		}
		gc.toDelete.AddRateLimited(uid)
	}
	return true
}

func (gc *GarbageCollector) processOrphan(ctx context.Context) bool {
	uid, quit := gc.toOrphan.Get()
	if quit {
		return false
	}
	defer gc.toOrphan.Done(uid)
	if err := gc.orphanDependents(ctx, uid); err != nil {
		if ctx.Err() == nil {
			gc.log.Info("garbage collector: retrying orphaning", "uid", uid, "err", err)
		}
		gc.toOrphan.AddRateLimited(uid)
		return true
	}
	gc.toOrphan.Forget(uid)
	return true
}

// virtualDeleted tells the graph builder that an owner it has not observed
// does not exist.
func (gc *GarbageCollector) virtualDeleted(ref objectRef) {
	gc.changes.Add(&event{typ: deleteEvent, virtual: true, ref: ref})
}

func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
