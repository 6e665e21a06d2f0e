package manager

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"kplane/internal/controllers/nodelifecycle"
	"kplane/internal/controllers/podautoscaler"
	"kplane/internal/leaderelection"
)

// Config configures a controller manager. Zero values get the defaults
// documented on each field.
type Config struct {
	// RESTConfig is the manager's own identity (required); upstream runs as
	// user system:kube-controller-manager.
	RESTConfig *rest.Config
	// QPS and Burst limit each client (--kube-api-qps, --kube-api-burst).
	// Defaults 1000 and 2000: upstream's 20/30 would cap a replica set
	// controller at 20 pods/s; on kplane 200 capped it at about 200 pods/s
	// while the API server could create 1,400-2,500/s on 2 cores
	// (BenchmarkManyReplicationControllers), and its in-flight limits
	// protect it from overload.
	QPS   float32
	Burst int
	// Controllers selects controllers like upstream's --controllers: "*"
	// (the default) is every controller, "name" enables one, "-name"
	// disables one.
	Controllers []string
	// Concurrency is --concurrent-<name>-syncs per controller; default 5
	// (upstream's for most controllers), see DefaultConcurrency.
	Concurrency map[string]int
	// LeaderElection runs controllers only while holding the Lease
	// (default on, Lease kube-system/kube-controller-manager).
	LeaderElection leaderelection.Options
	// UseServiceAccountCredentials gives each controller its own service
	// account token (default true); false uses RESTConfig for all.
	DisableServiceAccountCredentials bool
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to a new registry.
	Metrics *prometheus.Registry
	// NodeLifecycle tunes node health monitoring and eviction.
	NodeLifecycle nodelifecycle.Options
	// HorizontalPodAutoscaler tunes the HPA controller (sync period,
	// tolerance, downscale stabilization).
	HorizontalPodAutoscaler podautoscaler.Options
	// ResyncPeriod of the shared informers; default 12h as upstream's
	// --min-resync-period.
	ResyncPeriod time.Duration
}

func (c *Config) setDefaults() {
	if c.QPS == 0 {
		c.QPS = 1000
	}
	if c.Burst == 0 {
		c.Burst = 2000
	}
	if len(c.Controllers) == 0 {
		c.Controllers = []string{"*"}
	}
	c.LeaderElection = c.LeaderElection.WithDefaults("kube-controller-manager")
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	c.NodeLifecycle = c.NodeLifecycle.WithDefaults()
	if c.ResyncPeriod == 0 {
		c.ResyncPeriod = 12 * time.Hour
	}
}

// Validate reports every problem at once.
func (c *Config) Validate(known map[string]bool) error {
	var errs []error
	if c.RESTConfig == nil {
		errs = append(errs, errors.New("a client config (kubeconfig) is required"))
	}
	if err := c.LeaderElection.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, n := range c.Controllers {
		name := n
		if len(name) > 0 && name[0] == '-' {
			name = name[1:]
		}
		if name != "*" && !known[name] {
			errs = append(errs, fmt.Errorf("unknown controller %q", n))
		}
	}
	if err := c.NodeLifecycle.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("node lifecycle: %w", err))
	}
	if err := c.HorizontalPodAutoscaler.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("horizontal pod autoscaler: %w", err))
	}
	for name, n := range c.Concurrency {
		if !known[name] {
			errs = append(errs, fmt.Errorf("concurrency for unknown controller %q", name))
		}
		if n < 1 {
			errs = append(errs, fmt.Errorf("concurrency for %q must be at least 1, got %d", name, n))
		}
	}
	return errors.Join(errs...)
}

// enabled reports whether name is selected by the --controllers list.
func (c *Config) enabled(name string) bool {
	on := false
	for _, n := range c.Controllers {
		switch n {
		case "*":
			on = true
		case name:
			return true
		case "-" + name:
			return false
		}
	}
	return on
}
