package manager

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"kplane/internal/controllers"
	"kplane/internal/leaderelection"
)

// DefaultConcurrency is the worker count of a controller without a
// --concurrent-<name>-syncs setting.
const DefaultConcurrency = 5

// Manager runs the enabled controllers while it leads.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	entries []Entry
	root    kubernetes.Interface
	queues  *controllers.QueueMetrics

	readyOnce sync.Once
	ready     chan struct{}
}

// New checks cfg and prepares the manager's clients.
func New(cfg Config) (*Manager, error) {
	cfg.setDefaults()
	known := map[string]bool{}
	entries := Known()
	for _, e := range entries {
		known[e.Name] = true
	}
	if err := cfg.Validate(known); err != nil {
		return nil, fmt.Errorf("controller manager config: %w", err)
	}
	base := rest.CopyConfig(cfg.RESTConfig)
	base.QPS, base.Burst = cfg.QPS, cfg.Burst
	base.UserAgent = "kplane-controller-manager"
	root, err := kubernetes.NewForConfig(base)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	cfg.RESTConfig = base
	return &Manager{
		cfg: cfg, log: cfg.Logger, entries: entries, root: root,
		queues: controllers.NewQueueMetrics(cfg.Metrics), ready: make(chan struct{}),
	}, nil
}

// Ready is closed once this instance leads and its controllers run.
func (m *Manager) Ready() <-chan struct{} { return m.ready }

// Run serves until ctx ends; with leader election it returns an error
// when leadership is lost (the process should exit, as upstream does, so
// that it never runs controllers alongside a new leader).
func (m *Manager) Run(ctx context.Context) error {
	return leaderelection.Run(ctx, leaderelection.Config{
		Options: m.cfg.LeaderElection, Client: m.root.CoordinationV1(), Logger: m.log,
	}, m.runControllers)
}

// runControllers builds every enabled controller on one informer factory,
// starts the informers and runs the controllers until ctx ends.
func (m *Manager) runControllers(ctx context.Context) error {
	factory := informers.NewSharedInformerFactory(m.root, m.cfg.ResyncPeriod)
	meta, err := metadata.NewForConfig(m.cfg.RESTConfig)
	if err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	var running []controllers.Controller
	for _, e := range m.entries {
		if !m.cfg.enabled(e.Name) {
			continue
		}
		client, metaClient := m.root, meta
		if !m.cfg.DisableServiceAccountCredentials && e.ServiceAccount != "" {
			c, err := saConfig(ctx, m.root, m.cfg.RESTConfig, "kube-system", e.ServiceAccount)
			if err != nil {
				return fmt.Errorf("%s credentials: %w", e.Name, err)
			}
			if client, err = kubernetes.NewForConfig(c); err != nil {
				return fmt.Errorf("%s client: %w", e.Name, err)
			}
			if metaClient, err = metadata.NewForConfig(c); err != nil {
				return fmt.Errorf("%s metadata client: %w", e.Name, err)
			}
		}
		workers := e.Workers
		if n, ok := m.cfg.Concurrency[e.Name]; ok {
			workers = n
		}
		if workers <= 0 {
			workers = DefaultConcurrency
		}
		construct := e.New
		if e.Configure != nil {
			construct = e.Configure(&m.cfg)
		}
		c, err := construct(controllers.Context{
			Client: client, Metadata: metaClient, Informers: factory, Logger: m.log.With("controller", e.Name),
			Metrics: m.cfg.Metrics, Queues: m.queues, Clock: clock.RealClock{}, Workers: workers,
		})
		if err != nil {
			return fmt.Errorf("build %s controller: %w", e.Name, err)
		}
		running = append(running, c)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range running {
		g.Go(func() error {
			if err := c.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("%s controller: %w", c.Name(), err)
			}
			return nil
		})
	}
	m.readyOnce.Do(func() { close(m.ready) })
	m.log.Info("controllers running", "count", len(running))
	if err := g.Wait(); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
