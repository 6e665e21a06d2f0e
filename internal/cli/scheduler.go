package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controlplane"
	"kplane/internal/leaderelection"
	"kplane/internal/scheduler"
)

// schedulerFlags bind kube-scheduler's flags.
type schedulerFlags struct {
	kubeconfig     string
	schedulerName  string
	percentage     int32
	parallelism    int
	qps            float32
	burst          int
	leaderElection leaderelection.Options
	serving        servingFlags
}

func (f *schedulerFlags) bind(fl *pflag.FlagSet, standalone bool) {
	if standalone {
		fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the scheduler's identity (env KPLANE_KUBECONFIG)")
		fl.Float32Var(&f.qps, "kube-api-qps", 1000, "queries per second to the API server")
		fl.IntVar(&f.burst, "kube-api-burst", 2000, "burst of queries to the API server")
		f.leaderElection.AddFlags(fl, "kube-scheduler")
		fl.StringVar(&f.serving.bindAddress, "bind-address", "0.0.0.0", "address for /healthz, /metrics and /debug/pprof")
		fl.IntVar(&f.serving.securePort, "secure-port", 10259, "HTTPS port for /healthz, /readyz, /livez (open) and /metrics, /debug/pprof (delegated authn/authz); 0 disables")
	}
	fl.StringVar(&f.schedulerName, "scheduler-name", "default-scheduler", "schedule pods whose spec.schedulerName is this")
	fl.Int32Var(&f.percentage, "percentage-of-nodes-to-score", 0, "share of nodes to find feasible before scoring; 0 adapts from 50% (100 nodes) to 5%")
	fl.IntVar(&f.parallelism, "parallelism", 16, "goroutines that filter and score nodes")
}

func (f *schedulerFlags) config(cmd *cobra.Command) scheduler.Config {
	return scheduler.Config{
		QPS: f.qps, Burst: f.burst, SchedulerName: f.schedulerName, PercentageOfNodesToScore: f.percentage,
		Parallelism: f.parallelism, LeaderElection: f.leaderElection,
		Logger: newLogger(cmd).With("component", "scheduler"),
	}
}

func newSchedulerCommand() *cobra.Command {
	var f schedulerFlags
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Assign pending pods to nodes (kube-scheduler) against an API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStandalone(f.kubeconfig, func(ctx context.Context, rc *rest.Config) error {
				cfg := f.config(cmd)
				cfg.RESTConfig = rc
				cfg.Metrics = standaloneRegistry()
				s, err := scheduler.New(cfg)
				if err != nil {
					return err
				}
				return withComponentServer(ctx, "scheduler", f.serving, rc, cfg.Metrics, s.Ready(), cfg.Logger, s.Run)
			})
		},
	}
	f.bind(cmd.Flags(), true)
	return cmd
}

// schedulerComponent runs the scheduler inside `kplane up`; it shares the
// controller manager's leader-election and client flags.
func schedulerComponent(cmd *cobra.Command, sf *schedulerFlags, mf *managerFlags) component {
	return component{name: "scheduler", run: func(ctx context.Context, cp *controlplane.ControlPlane) error {
		rc, err := clientcmd.BuildConfigFromFlags("", cp.SchedulerKubeconfig())
		if err != nil {
			return fmt.Errorf("scheduler kubeconfig: %w", err)
		}
		cfg := sf.config(cmd)
		cfg.RESTConfig = rc
		cfg.QPS, cfg.Burst = mf.qps, mf.burst
		// Same settings, but the scheduler's own Lease.
		cfg.LeaderElection = mf.leaderElection
		cfg.LeaderElection.ResourceName = "kube-scheduler"
		// One process, one /metrics.
		cfg.Metrics = cp.Metrics()
		s, err := scheduler.New(cfg)
		if err != nil {
			return err
		}
		return s.Run(ctx)
	}}
}
