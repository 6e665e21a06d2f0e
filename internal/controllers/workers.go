package controllers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

// NewQueue returns a work queue with client-go's default controller rate
// limiter (per-item exponential backoff and an overall token bucket), as
// upstream controllers use, whose metrics carry name as label "name" and
// whose delays run on ctx.Clock (real when nil).
func NewQueue[T comparable](ctx Context, name string) workqueue.TypedRateLimitingInterface[T] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[T](),
		workqueue.TypedRateLimitingQueueConfig[T]{Name: name, MetricsProvider: ctx.Queues, Clock: ctx.Clock})
}

// ProcessNext takes one key from queue and syncs it: on success the key's
// backoff is forgotten, on error it is queued again rate limited (and
// logged, unless ctx has ended). It returns false once queue is shut down.
func ProcessNext[T comparable](ctx context.Context, queue workqueue.TypedRateLimitingInterface[T], sync func(context.Context, T) error, log *slog.Logger) bool {
	key, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(key)
	if err := sync(ctx, key); err != nil {
		if ctx.Err() == nil {
			log.Info("sync failed, requeueing", "key", key, "err", err)
		}
		queue.AddRateLimited(key)
		return true
	}
	queue.Forget(key)
	return true
}

// RunWorkers syncs keys from queue with workers goroutines (see
// ProcessNext) until ctx ends, then shuts queue down and returns once the
// workers have stopped.
func RunWorkers[T comparable](ctx context.Context, queue workqueue.TypedRateLimitingInterface[T], workers int, sync func(context.Context, T) error, log *slog.Logger) {
	RunLoops(ctx, workers, func(ctx context.Context) {
		for ProcessNext(ctx, queue, sync, log) {
		}
	}, queue)
}

// RunLoops runs n goroutines of loop, each restarted a second after it
// returns, until ctx ends; it then shuts the queues down, so that loops
// blocked in Get return, and waits for the goroutines. It is for
// controllers whose loop is not ProcessNext.
func RunLoops(ctx context.Context, n int, loop func(context.Context), queues ...interface{ ShutDown() }) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { wait.UntilWithContext(ctx, loop, time.Second) })
	}
	<-ctx.Done()
	for _, q := range queues {
		q.ShutDown()
	}
	wg.Wait()
}

// WaitForSync waits until the informers have synced; its error names the
// controller.
func WaitForSync(ctx context.Context, name string, synced ...cache.InformerSynced) error {
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("%s caches did not sync", name)
	}
	return nil
}

// Events records core/v1 Events as component (e.g.
// "replicaset-controller"); it is a record.EventRecorder whose events reach
// the API server, through client, only between Start and the stop that
// Start returns.
type Events struct {
	record.EventRecorder
	broadcaster record.EventBroadcaster
	client      kubernetes.Interface
}

// NewEvents returns a recorder for component that writes with client.
func NewEvents(client kubernetes.Interface, component string) *Events {
	b := record.NewBroadcaster()
	return &Events{
		EventRecorder: b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component}),
		broadcaster:   b, client: client,
	}
}

// Start sends recorded events to the API server until stop is called
// (usually deferred in the controller's Run).
func (e *Events) Start() (stop func()) {
	e.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: e.client.CoreV1().Events("")})
	return e.broadcaster.Shutdown
}

// Enqueue adds obj's namespace/name key to queue; tombstones of deleted
// objects are keyed too. It is the add/update/delete handler most
// controllers need.
func Enqueue(queue workqueue.TypedInterface[string], obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		utilruntime.HandleError(err)
		return
	}
	queue.Add(key)
}
