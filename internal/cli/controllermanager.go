package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"kplane/internal/controllers/manager"
	"kplane/internal/controllers/nodelifecycle"
	"kplane/internal/controllers/podautoscaler"
	"kplane/internal/leaderelection"
)

// managerFlags bind kube-controller-manager's flags.
type managerFlags struct {
	kubeconfig       string
	controllers      []string
	qps              float32
	burst            int
	useSACredentials bool
	leaderElection   leaderelection.Options
	serving          servingFlags
	concurrency      map[string]*int
	node             nodelifecycle.Options
	hpa              podautoscaler.Options
}

func (f *managerFlags) bind(fl *pflag.FlagSet, standalone bool) {
	if standalone {
		fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the controller manager's identity (env KPLANE_KUBECONFIG)")
		fl.StringVar(&f.serving.bindAddress, "bind-address", "0.0.0.0", "address for /healthz, /metrics and /debug/pprof")
		fl.IntVar(&f.serving.securePort, "secure-port", 10257, "HTTPS port for /healthz, /readyz, /livez (open) and /metrics, /debug/pprof (delegated authn/authz); 0 disables")
	}
	fl.StringSliceVar(&f.controllers, "controllers", []string{"*"}, "controllers to run: '*' for all, 'name' to enable, '-name' to disable")
	fl.Float32Var(&f.qps, "kube-api-qps", 1000, "queries per second to the API server, per client")
	fl.IntVar(&f.burst, "kube-api-burst", 2000, "burst of queries to the API server, per client")
	f.leaderElection.AddFlags(fl, "kube-controller-manager")
	fl.BoolVar(&f.useSACredentials, "use-service-account-credentials", true, "give each controller its own kube-system service account")
	d := nodelifecycle.Options{}.WithDefaults()
	fl.DurationVar(&f.node.NodeMonitorPeriod, "node-monitor-period", d.NodeMonitorPeriod, "how often node health is checked")
	fl.DurationVar(&f.node.NodeMonitorGracePeriod, "node-monitor-grace-period", d.NodeMonitorGracePeriod, "how long a node may miss Lease renewals before it is marked Unknown")
	fl.DurationVar(&f.node.NodeStartupGracePeriod, "node-startup-grace-period", d.NodeStartupGracePeriod, "grace period of a node that never reported Ready")
	fl.Float32Var(&f.node.EvictionRate, "node-eviction-rate", d.EvictionRate, "nodes per second tainted for eviction per healthy zone")
	fl.Float32Var(&f.node.SecondaryEvictionRate, "secondary-node-eviction-rate", d.SecondaryEvictionRate, "nodes per second tainted for eviction per partially disrupted large zone")
	fl.Int32Var(&f.node.LargeClusterSizeThreshold, "large-cluster-size-threshold", d.LargeClusterSizeThreshold, "zone size above which partial disruption slows evictions instead of stopping them")
	fl.Float32Var(&f.node.UnhealthyZoneThreshold, "unhealthy-zone-threshold", d.UnhealthyZoneThreshold, "fraction of not-Ready nodes that makes a zone partially disrupted")
	h := podautoscaler.Options{}.WithDefaults()
	fl.DurationVar(&f.hpa.SyncPeriod, "horizontal-pod-autoscaler-sync-period", h.SyncPeriod, "how often each HorizontalPodAutoscaler is reconciled")
	fl.Float64Var(&f.hpa.Tolerance, "horizontal-pod-autoscaler-tolerance", h.Tolerance, "relative distance from the target within which the HPA does not scale")
	fl.DurationVar(&f.hpa.DownscaleStabilizationWindow, "horizontal-pod-autoscaler-downscale-stabilization", h.DownscaleStabilizationWindow, "window of recommendations an HPA without spec.behavior scales down from (the highest wins)")
	f.concurrency = map[string]*int{}
	for _, e := range manager.Known() {
		n := e.Workers
		if n == 0 {
			n = manager.DefaultConcurrency
		}
		f.concurrency[e.Name] = fl.Int("concurrent-"+e.Name+"-syncs", n, "objects the "+e.Name+" controller syncs at once")
	}
}

func (f *managerFlags) config(cmd *cobra.Command) manager.Config {
	cfg := manager.Config{
		Controllers: f.controllers, QPS: f.qps, Burst: f.burst,
		LeaderElection: f.leaderElection, DisableServiceAccountCredentials: !f.useSACredentials,
		Logger: newLogger(cmd).With("component", "controller-manager"), Concurrency: map[string]int{},
		NodeLifecycle: f.node, HorizontalPodAutoscaler: f.hpa,
	}
	for name, n := range f.concurrency {
		cfg.Concurrency[name] = *n
	}
	return cfg
}

func newControllerManagerCommand() *cobra.Command {
	var f managerFlags
	cmd := &cobra.Command{
		Use:   "controller-manager",
		Short: "Run the controllers (replica sets, deployments, garbage collector, ...) against an API server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStandalone(f.kubeconfig, func(ctx context.Context, rc *rest.Config) error {
				cfg := f.config(cmd)
				cfg.RESTConfig = rc
				cfg.Metrics = standaloneRegistry()
				m, err := manager.New(cfg)
				if err != nil {
					return err
				}
				return withComponentServer(ctx, "controller-manager", f.serving, rc, cfg.Metrics, m.Ready(), cfg.Logger, m.Run)
			})
		},
	}
	f.bind(cmd.Flags(), true)
	return cmd
}
