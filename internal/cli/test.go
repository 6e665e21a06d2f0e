package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/hollownode"
	"kplane/internal/perftest"
	"kplane/internal/perftest/report"
)

// testFlags are the flags of `kplane test density|load`.
type testFlags struct {
	kubeconfig     string
	nodes          int
	createNodes    int
	podsPerNode    int
	latencyPods    int
	qps            float64
	specFile       string
	printSpec      bool
	seed           int64
	reportDir      string
	timeout        time.Duration
	pprof          bool
	pprofDuration  time.Duration
	pids           []int
	cgroups        []string
	sampleInterval time.Duration
	cleanup        bool
	clientQPS      float64
	clientBurst    int
	progress       string
	podStart       time.Duration
}

func (f *testFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster under test; default $KUBECONFIG, else the one `kplane up` wrote in its default data dir, else ~/.kube/config (env KPLANE_KUBECONFIG)")
	fl.IntVar(&f.nodes, "nodes", 0, "wait for this many Ready nodes before starting; 0 uses the Ready nodes there are (or --create-nodes)")
	fl.IntVar(&f.createNodes, "create-nodes", 0, "start this many hollow nodes in this process for the run")
	fl.IntVar(&f.podsPerNode, "pods-per-node", 0, "pods per node; 0 takes the workload spec's (built-in 30)")
	fl.IntVar(&f.latencyPods, "latency-pods", -1, "density: latency pods created one at a time after saturation; -1 takes the spec's (built-in: one per node, at most 500)")
	fl.Float64Var(&f.qps, "qps", 0, "uniform QPS of every phase's object writes (saturation objects, load create/scale/update/delete); 0 keeps the spec's tuning sets")
	fl.StringVar(&f.specFile, "spec", "", "workload spec YAML (see --print-spec); flags override it")
	fl.BoolVar(&f.printSpec, "print-spec", false, "print the built-in workload spec and exit")
	fl.Int64Var(&f.seed, "seed", 1, "seed of every random choice (scale factors, order, hollow pod start latencies)")
	fl.StringVar(&f.reportDir, "report-dir", "", "directory for result.json, pods.csv, report.html, summary.txt and profiles; default ./kplane-test-<test>-<time>")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Minute, "stop the run after this long and report what was measured, marked partial")
	fl.BoolVar(&f.pprof, "pprof", false, "capture CPU and heap profiles of the API server process from /debug/pprof at the peak of the run")
	fl.DurationVar(&f.pprofDuration, "pprof-duration", 10*time.Second, "length of the --pprof CPU profile")
	fl.IntSliceVar(&f.pids, "pids", nil, "local control-plane process IDs whose CPU and memory to sample from /proc")
	fl.StringSliceVar(&f.cgroups, "cgroups", nil, "cgroup v2 directories (containers) whose CPU and memory to sample")
	fl.DurationVar(&f.sampleInterval, "sample-interval", 5*time.Second, "interval of resource usage samples")
	fl.BoolVar(&f.cleanup, "cleanup", true, "delete the run's namespaces (and created hollow nodes) at the end")
	fl.Float64Var(&f.clientQPS, "client-qps", 500, "QPS limit of the test's client")
	fl.IntVar(&f.clientBurst, "client-burst", 1000, "burst of the test's client")
	fl.StringVar(&f.progress, "progress", "auto", "progress display: bar, log, or auto (bar when stderr is a terminal)")
	fl.DurationVar(&f.podStart, "hollow-pod-start-latency", 0, "median container start latency of created hollow nodes; 0 keeps the hollow node default (100ms), negative starts at once")
}

func newTestCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the Kubernetes scalability tests (density, load) against a cluster and judge the SLOs",
		Long: `Run upstream's density or load test against any cluster reachable with a
kubeconfig (kplane or upstream Kubernetes), measure API latency, pod startup,
throughput and control-plane resources, check the scalability SLOs, and
write result.json, pods.csv, report.html and summary.txt to --report-dir.
The exit code is 0 only when every SLO passed on a finished run.`,
	}
	for _, test := range []struct{ name, short string }{
		{perftest.Density, "Saturate nodes with pods, then time latency pods one by one"},
		{perftest.Load, "Create, scale, roll and delete Deployments with Services, ConfigMaps and Secrets"},
	} {
		var f testFlags
		sub := &cobra.Command{
			Use:   test.name,
			Short: test.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runTest(cmd, test.name, &f)
			},
		}
		f.bind(sub)
		cmd.AddCommand(sub)
	}
	return cmd
}

// errVerdict is returned when the run's verdict is not pass, so the
// process exits non-zero.
var errVerdict = errors.New("SLO verdict")

func runTest(cmd *cobra.Command, test string, f *testFlags) error {
	out := cmd.OutOrStdout()
	if f.printSpec {
		_, err := out.Write(perftest.BuiltinSpec)
		return err
	}
	log := newLogger(cmd)
	spec, err := perftest.LoadSpecFile(f.specFile)
	if err != nil {
		return err
	}
	if f.podsPerNode > 0 {
		spec.PodsPerNode = f.podsPerNode
	}
	if f.latencyPods >= 0 {
		spec.Density.LatencyPods = f.latencyPods
	}
	if f.qps > 0 {
		u := perftest.Tuning{Type: "uniform", QPS: f.qps}
		spec.Density.Saturation, spec.Load.Create, spec.Load.ScaleTuning, spec.Load.Update, spec.Load.Delete = u, u, u, u, u
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	rc, err := testKubeconfig(f.kubeconfig)
	if err != nil {
		return err
	}
	dir := f.reportDir
	if dir == "" {
		dir = fmt.Sprintf("kplane-test-%s-%s", test, time.Now().Format("20060102-150405"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var progress perftest.Progress
	if f.progress == "bar" || (f.progress == "auto" && term.IsTerminal(int(os.Stderr.Fd()))) {
		progress = perftest.NewBarProgress(os.Stderr)
		// Logs would tear the bar apart: keep warnings and errors only.
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	} else {
		progress = perftest.NewLogProgress(log, 5*time.Second)
	}

	nodes := f.nodes
	var fleetDone chan error
	var fleet *hollownode.Fleet
	fleetCtx, stopFleet := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFleet()
	if f.createNodes > 0 {
		hc := hollownode.Config{RESTConfig: rc, Count: f.createNodes, NamePrefix: "perftest-node-", Seed: uint64(f.seed),
			Logger: log}
		if f.podStart != 0 {
			hc.Pods.StartLatency = f.podStart
		}
		fleet, err = hollownode.New(hc)
		if err != nil {
			return fmt.Errorf("hollow nodes: %w", err)
		}
		fleetDone = make(chan error, 1)
		go func() { fleetDone <- fleet.Run(fleetCtx) }()
		if nodes < f.createNodes {
			nodes = f.createNodes
		}
		log.Info("starting hollow nodes", "count", f.createNodes)
		select {
		case <-fleet.Ready():
			log.Info("hollow nodes ready", "count", f.createNodes)
		case err := <-fleetDone:
			return fmt.Errorf("hollow nodes stopped: %w", err)
		case <-ctx.Done():
			stopFleet()
			<-fleetDone
			return ctx.Err()
		}
	}
	stopNodes := func() {
		if fleet == nil {
			return
		}
		stopFleet()
		if err := <-fleetDone; err != nil {
			log.Warn("hollow nodes", "err", err)
		}
		if f.cleanup {
			deleteNodes(rc, fleet.Nodes(), log)
		}
		fleet = nil
	}
	defer stopNodes()

	selfName := "kplane test"
	if f.createNodes > 0 {
		selfName = fmt.Sprintf("kplane test + %d hollow nodes", f.createNodes)
	}
	r, err := perftest.New(perftest.Config{
		Test: test, RESTConfig: rc, Spec: &spec, Nodes: nodes, CreatedNodes: f.createNodes, Seed: f.seed,
		Timeout: f.timeout, ReportDir: dir, ClientQPS: f.clientQPS, ClientBurst: f.clientBurst, PIDs: f.pids, Cgroups: f.cgroups,
		Pprof: f.pprof, PprofDuration: f.pprofDuration, SampleInterval: f.sampleInterval, Cleanup: f.cleanup,
		SelfName: selfName, KplaneVersion: Version, CommandLine: strings.Join(os.Args, " "), SpecFile: f.specFile,
		Progress: progress, Logger: log, Out: out,
	})
	if err != nil {
		return err
	}
	res, err := r.Run(ctx)
	stopNodes()
	if err != nil {
		return err
	}
	if res.Verdict != report.VerdictPass {
		return fmt.Errorf("%w: %s", errVerdict, res.Verdict)
	}
	return nil
}

// testKubeconfig loads the cluster's client config: --kubeconfig, else
// $KUBECONFIG, else `kplane up`'s default, else ~/.kube/config.
func testKubeconfig(path string) (*rest.Config, error) {
	if path == "" && os.Getenv("KUBECONFIG") == "" {
		if p := filepath.Join(defaultDataDir(), "kubeconfig"); fileExists(p) {
			path = p
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return rc, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// deleteNodes removes the Node objects of a stopped hollow fleet, so the
// cluster does not keep nodes nobody runs.
func deleteNodes(rc *rest.Config, names []string, log *slog.Logger) {
	c := rest.CopyConfig(rc)
	c.QPS, c.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(c)
	if err != nil {
		log.Warn("delete hollow nodes", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, n := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := cs.CoreV1().Nodes().Delete(ctx, n, metav1.DeleteOptions{}); err != nil {
				log.Debug("delete hollow node", "node", n, "err", err)
			}
		})
	}
	wg.Wait()
}
