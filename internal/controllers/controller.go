package controllers

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
)

// Context is everything a controller is built from. Informers is shared by
// all controllers of a process (one informer per resource); controllers
// must register the informers they use in their constructor, before the
// manager starts the factory.
type Context struct {
	// Client talks to the API server (rate limited by --kube-api-qps/burst).
	Client kubernetes.Interface
	// Metadata is a metadata-only client with the same identity as Client
	// (the garbage collector and namespace controller use it).
	Metadata metadata.Interface
	// Informers is the shared informer factory.
	Informers informers.SharedInformerFactory
	// Logger is the controller's logger, already tagged with its name.
	Logger *slog.Logger
	// Metrics registers the controller's metrics.
	Metrics prometheus.Registerer
	// Queues provides work-queue metrics (workqueue_depth{name=...}).
	Queues workqueue.MetricsProvider
	// Clock is real in production and fake in tests.
	Clock clock.WithTicker
	// Workers is how many items the controller processes concurrently
	// (--concurrent-<name>-syncs).
	Workers int
}

// Controller is one control loop.
type Controller interface {
	// Name is the controller's name, e.g. "replicaset", as upstream's
	// --controllers names.
	Name() string
	// Run processes work until ctx is cancelled; it returns after its
	// workers have stopped.
	Run(ctx context.Context) error
}

// Constructor builds a controller from a Context.
type Constructor func(ctx Context) (Controller, error)
