package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"kplane/internal/leaderelection"
	"kplane/internal/scheduler/plugins"
)

// Config configures a scheduler. Zero values get the defaults documented
// on each field.
type Config struct {
	// RESTConfig is the scheduler's identity (required); upstream runs as
	// user system:kube-scheduler.
	RESTConfig *rest.Config
	// QPS and Burst limit the client (--kube-api-qps, --kube-api-burst).
	// Defaults 1000 and 2000, like kplane's controller manager: upstream's
	// 50/100 would cap binding at 50 pods/s, far below what the API server
	// sustains.
	QPS   float32
	Burst int
	// SchedulerName selects pods by spec.schedulerName; default
	// "default-scheduler".
	SchedulerName string
	// PercentageOfNodesToScore is the share of nodes to find feasible
	// before scoring; 0 (default) is upstream's adaptive 50%→5%.
	PercentageOfNodesToScore int32
	// Parallelism is how many goroutines filter and score; default 16.
	Parallelism int
	// BindWorkers bounds concurrent binding and status writes; default 64.
	BindWorkers int
	// PodInitialBackoff and PodMaxBackoff bound retry backoff; defaults 1s
	// and 10s, as upstream.
	PodInitialBackoff, PodMaxBackoff time.Duration
	// AssumedPodTTL expires a bound pod the informer never confirmed;
	// default 15m.
	AssumedPodTTL time.Duration
	// Weights of the score plugins; zero fields take upstream's defaults.
	Weights plugins.Weights
	// LeaderElection: on by default, Lease kube-system/kube-scheduler.
	LeaderElection leaderelection.Options
	// Seed of the tie-breaking random source; 0 uses the time.
	Seed int64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to a new registry.
	Metrics *prometheus.Registry
}

func (c *Config) setDefaults() {
	if c.QPS == 0 {
		c.QPS = 1000
	}
	if c.Burst == 0 {
		c.Burst = 2000
	}
	if c.SchedulerName == "" {
		c.SchedulerName = "default-scheduler"
	}
	if c.Parallelism == 0 {
		c.Parallelism = 16
	}
	if c.BindWorkers == 0 {
		c.BindWorkers = 64
	}
	if c.PodInitialBackoff == 0 {
		c.PodInitialBackoff = time.Second
	}
	if c.PodMaxBackoff == 0 {
		c.PodMaxBackoff = 10 * time.Second
	}
	if c.AssumedPodTTL == 0 {
		c.AssumedPodTTL = 15 * time.Minute
	}
	c.LeaderElection = c.LeaderElection.WithDefaults("kube-scheduler")
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.RESTConfig == nil {
		errs = append(errs, errors.New("a client config (kubeconfig) is required"))
	}
	if c.PercentageOfNodesToScore < 0 || c.PercentageOfNodesToScore > 100 {
		errs = append(errs, fmt.Errorf("percentage of nodes to score must be in [0, 100], got %d", c.PercentageOfNodesToScore))
	}
	if c.Parallelism < 1 {
		errs = append(errs, fmt.Errorf("parallelism must be at least 1, got %d", c.Parallelism))
	}
	if c.BindWorkers < 1 {
		errs = append(errs, fmt.Errorf("bind workers must be at least 1, got %d", c.BindWorkers))
	}
	if c.PodMaxBackoff < c.PodInitialBackoff {
		errs = append(errs, fmt.Errorf("max backoff %s is shorter than initial backoff %s", c.PodMaxBackoff, c.PodInitialBackoff))
	}
	if err := c.LeaderElection.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
