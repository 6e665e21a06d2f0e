package perftest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/perftest/report"
)

// Test names.
const (
	Density = "density"
	Load    = "load"
)

// Config of one test run. Zero values get the documented defaults.
type Config struct {
	// Test is Density or Load (required).
	Test string
	// RESTConfig reaches the cluster under test (required). The runner
	// copies it and sets QPS/Burst and its own latency-recording transport.
	RESTConfig *rest.Config
	// Spec is the workload; default the built-in spec.
	Spec *Spec
	// Nodes is how many Ready nodes to wait for before starting; 0 uses
	// the Ready nodes there are (at least one).
	Nodes int
	// CreatedNodes is how many of them the caller started as hollow nodes
	// (reported only).
	CreatedNodes int
	// Seed makes random choices (scale factors, order) repeatable;
	// default 1.
	Seed int64
	// Timeout bounds the whole run; default 30m. A run that hits it stops,
	// writes a report marked incomplete, and says which numbers are partial.
	Timeout time.Duration
	// ReportDir receives result.json, pods.csv, report.html, summary.txt
	// and profiles (required; created if missing).
	ReportDir string
	// ClientQPS and ClientBurst of the test's own client; default 500/1000.
	ClientQPS   float64
	ClientBurst int
	// PIDs are local control-plane processes whose CPU and RSS are
	// sampled from /proc, besides this process and the API server's own
	// process metrics.
	PIDs []int
	// Cgroups are cgroup v2 directories (e.g. a container's
	// /sys/fs/cgroup/system.slice/docker-<id>.scope) sampled from cpu.stat
	// and memory.current.
	Cgroups []string
	// Pprof captures a CPU profile (PprofDuration, default 10s) at the
	// start of the busiest phase and a heap profile at its end.
	Pprof         bool
	PprofDuration time.Duration
	// SampleInterval of resource usage; default 5s.
	SampleInterval time.Duration
	// ThroughputInterval of the throughput series; default 1s.
	ThroughputInterval time.Duration
	// Cleanup deletes the test namespaces at the end (the zero value
	// keeps them) and waits up to CleanupTimeout (default 10m) for them to
	// go, outside the measured run.
	Cleanup        bool
	CleanupTimeout time.Duration
	// SelfName names this process in the resource table; default
	// "kplane test".
	SelfName string
	// KplaneVersion and CommandLine are recorded in the result.
	KplaneVersion, CommandLine, SpecFile string
	// Progress display; default log lines on Logger.
	Progress Progress
	// Logger defaults to slog.Default(); Clock to time.Now.
	Logger *slog.Logger
	Clock  func() time.Time
	// Out receives the text summary; default io.Discard.
	Out io.Writer
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Test != Density && c.Test != Load {
		errs = append(errs, fmt.Errorf("test %q: want %s or %s", c.Test, Density, Load))
	}
	if c.RESTConfig == nil {
		errs = append(errs, errors.New("RESTConfig is required"))
	}
	if c.ReportDir == "" {
		errs = append(errs, errors.New("ReportDir is required"))
	}
	if c.Nodes < 0 {
		errs = append(errs, errors.New("nodes must be >= 0"))
	}
	if c.Spec != nil {
		if err := c.Spec.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Runner runs one test.
type Runner struct {
	cfg     Config
	spec    Spec
	log     *slog.Logger
	clock   func() time.Time
	rng     *rand.Rand
	cs      kubernetes.Interface
	client  *clientLatency
	runID   string
	metrics *metricsSource
	prof    *profiler

	mu       sync.Mutex // guards result phases and profiles while drivers run
	phases   []report.Phase
	profiles []string
	wg       sync.WaitGroup // pprof captures
	pods     *podCollector
}

// New checks cfg and builds the clients.
func New(cfg Config) (*Runner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Spec == nil {
		s, err := ParseSpec(nil)
		if err != nil {
			return nil, err
		}
		cfg.Spec = &s
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	if cfg.ClientQPS <= 0 {
		cfg.ClientQPS = 500
	}
	if cfg.ClientBurst <= 0 {
		cfg.ClientBurst = 1000
	}
	if cfg.PprofDuration <= 0 {
		cfg.PprofDuration = 10 * time.Second
	}
	if cfg.SampleInterval <= 0 {
		cfg.SampleInterval = 5 * time.Second
	}
	if cfg.ThroughputInterval <= 0 {
		cfg.ThroughputInterval = time.Second
	}
	if cfg.CleanupTimeout <= 0 {
		cfg.CleanupTimeout = 10 * time.Minute
	}
	if cfg.SelfName == "" {
		cfg.SelfName = "kplane test"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Progress == nil {
		cfg.Progress = NewLogProgress(cfg.Logger, 5*time.Second)
	}
	r := &Runner{cfg: cfg, spec: *cfg.Spec, log: cfg.Logger, clock: cfg.Clock, client: newClientLatency()}
	r.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15))
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.QPS, rc.Burst = float32(cfg.ClientQPS), cfg.ClientBurst
	rc.UserAgent = "kplane-perftest"
	prev := rc.WrapTransport
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return r.client.wrap(rt)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	r.cs = cs
	// /metrics and /debug/pprof are plain text and binary: a separate
	// client without the latency wrapper, so scrapes do not count as
	// workload calls.
	raw := rest.CopyConfig(cfg.RESTConfig)
	raw.QPS, raw.Burst = 50, 100
	rawCS, err := kubernetes.NewForConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	r.metrics = &metricsSource{client: rawCS.CoreV1().RESTClient()}
	r.prof = &profiler{client: rawCS.CoreV1().RESTClient(), dir: cfg.ReportDir}
	r.runID = fmt.Sprintf("%s-%s-%04x", cfg.Test, cfg.Clock().UTC().Format("20060102-150405"), r.rng.IntN(1<<16))
	return r, nil
}

// Run runs the test and writes its report files. It returns the result
// even when the run failed part-way (its Verdict then says so); the error
// is for failures that left no result to report.
func (r *Runner) Run(ctx context.Context) (*report.Result, error) {
	if err := os.MkdirAll(r.cfg.ReportDir, 0o755); err != nil {
		return nil, fmt.Errorf("report dir: %w", err)
	}
	start := r.clock()
	res := &report.Result{SchemaVersion: report.SchemaVersion, Test: r.cfg.Test, RunID: r.runID, StartTime: start}
	res.Inputs = report.Inputs{Nodes: r.cfg.Nodes, CreatedNodes: r.cfg.CreatedNodes, PodsPerNode: r.spec.PodsPerNode,
		Seed: r.cfg.Seed, SpecFile: r.cfg.SpecFile, Spec: r.spec, TimeoutSeconds: r.cfg.Timeout.Seconds(),
		ClientQPS: r.cfg.ClientQPS, ClientBurst: r.cfg.ClientBurst, CommandLine: r.cfg.CommandLine,
		PprofRequested: r.cfg.Pprof, ResourcePIDs: r.cfg.PIDs, ReportDirectory: r.cfg.ReportDir,
		SampleIntervalMS: r.cfg.SampleInterval.Milliseconds()}
	res.Environment = r.environment()

	runCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	// Measurements outlive the drivers: they stop only after the final
	// scrape, on a context the run's timeout does not cancel.
	measureCtx, stopMeasure := context.WithCancel(context.WithoutCancel(ctx))
	defer stopMeasure()

	startFams, scrapeErr := r.metrics.scrape(runCtx)
	r.pods = newPodCollector(r.clock, start, r.cfg.ThroughputInterval)
	stopPods, err := r.pods.run(measureCtx, r.cs, r.runID)
	if err != nil {
		return nil, fmt.Errorf("pod informer: %w", err)
	}
	defer stopPods()
	targets := []*resourceTarget{procTarget(r.cfg.SelfName, 0)}
	for _, pid := range r.cfg.PIDs {
		targets = append(targets, procTarget(fmt.Sprintf("pid %d", pid), pid))
	}
	for _, dir := range r.cfg.Cgroups {
		targets = append(targets, cgroupTarget(dir))
	}
	if scrapeErr == nil {
		if _, ok := gauge(startFams, "process_cpu_seconds_total"); ok {
			targets = append(targets, metricsTarget("API server (process metrics)", r.metrics.scrape))
		}
	}
	sampler := newResourceSampler(r.clock, start, r.cfg.SampleInterval, targets)
	var bg sync.WaitGroup
	bg.Go(func() { sampler.run(measureCtx) })

	nodes, runErr := r.waitNodes(runCtx)
	res.Inputs.Nodes, res.Environment.Nodes = nodes, nodes
	if r.cfg.Test == Density {
		res.Inputs.LatencyPods = latencyPods(r.spec.Density, nodes)
	}
	if runErr == nil {
		switch r.cfg.Test {
		case Density:
			runErr = r.density(runCtx, nodes)
		case Load:
			runErr = r.load(runCtx, nodes)
		}
	}
	if runErr != nil && ctx.Err() == nil && runCtx.Err() != nil {
		runErr = fmt.Errorf("timed out after %s: %w", r.cfg.Timeout, runErr)
	}
	r.cfg.Progress.Finish()
	// Final measurements on a fresh deadline: a timed-out run still reports.
	finalCtx, cancelFinal := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelFinal()
	r.wg.Wait()
	endFams, endErr := r.metrics.scrape(finalCtx)
	stopMeasure()
	bg.Wait()
	stopPods()

	res.EndTime = r.clock()
	res.DurationSeconds = res.EndTime.Sub(start).Seconds()
	res.Finished = runErr == nil
	if runErr != nil {
		res.Error = runErr.Error()
		res.Partial = []string{"phases", "podStartup", "apiLatency", "throughput", "resources", "slos"}
		r.log.Error("run did not finish", "err", runErr)
	}
	r.mu.Lock()
	res.Phases = append([]report.Phase{}, r.phases...)
	res.Profiles = append([]string(nil), r.profiles...)
	r.mu.Unlock()
	pods := r.pods.timings()
	groups := []string{"saturation", "latency"}
	if r.cfg.Test == Load {
		groups = []string{"load"}
	}
	res.PodStartup = startupGroups(pods, groups)
	if res.PodStartup == nil {
		res.PodStartup = []report.PodStartupGroup{}
	}
	if wd := r.pods.watchDelay(); wd.Count > 0 {
		res.WatchDelay = &wd
	}
	res.APILatency = r.apiLatency(startFams, scrapeErr, endFams, endErr)
	res.Throughput = r.pods.throughput()
	res.Resources = sampler.result()
	res.ObjectCounts = map[string]int64{}
	if endErr == nil {
		res.ObjectCounts = objectCounts(endFams)
		for _, name := range etcdDBSizeMetrics {
			if v, ok := gauge(endFams, name); ok {
				res.Resources.EtcdDBSizeAvailable, res.Resources.EtcdDBSizeBytes = true, int64(v)
				break
			}
		}
	}
	res.SLOs = r.verdicts(res)
	res.Verdict = overall(res)
	err = r.writeFiles(res, pods)
	if r.cfg.Cleanup {
		r.cleanup(ctx, r.cfg.CleanupTimeout)
		r.cfg.Progress.Finish()
	}
	return res, err
}

func (r *Runner) environment() report.Environment {
	host, _ := os.Hostname()
	env := report.Environment{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		GoVersion: runtime.Version(), KplaneVersion: r.cfg.KplaneVersion, ServerURL: r.cfg.RESTConfig.Host, ServerVersion: "unknown"}
	if v, err := r.cs.Discovery().ServerVersion(); err == nil {
		env.ServerVersion = v.GitVersion
		env.ServerBuild = strings.TrimSpace(v.GitCommit + " " + v.BuildDate)
	}
	if env.KplaneVersion == "" {
		env.KplaneVersion = "unknown"
	}
	return env
}

// waitNodes waits for cfg.Nodes Ready, schedulable nodes (or counts the
// ones there are when cfg.Nodes is 0).
func (r *Runner) waitNodes(ctx context.Context) (int, error) {
	r.cfg.Progress.Phase("nodes", max(1, r.cfg.Nodes))
	for {
		list, err := r.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
		ready := 0
		if err == nil {
			for i := range list.Items {
				if nodeReady(&list.Items[i]) {
					ready++
				}
			}
			r.cfg.Progress.Set(ready, "ready nodes")
			if r.cfg.Nodes == 0 && ready == 0 {
				return 0, ErrNoNodes
			}
			if (r.cfg.Nodes == 0 && ready > 0) || (r.cfg.Nodes > 0 && ready >= r.cfg.Nodes) {
				if r.cfg.Nodes > 0 {
					ready = r.cfg.Nodes
				}
				r.log.Info("nodes ready", "nodes", ready)
				return ready, nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d of %d nodes ready", ready, r.cfg.Nodes)
			}
			return ready, fmt.Errorf("wait for nodes: %w", err)
		case <-time.After(time.Second):
		}
	}
}

// ErrNoNodes: the cluster has no Ready, schedulable node and the caller
// did not ask to wait for any.
var ErrNoNodes = errors.New("no Ready nodes (start hollow nodes with --create-nodes N, or wait for nodes with --nodes N)")

func nodeReady(n *corev1.Node) bool {
	if n.Spec.Unschedulable {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (r *Runner) apiLatency(startFams map[string]*dto.MetricFamily, startErr error, endFams map[string]*dto.MetricFamily, endErr error) report.APILatency {
	al := report.APILatency{Client: r.client.endpoints(), Server: []report.APIEndpoint{}}
	if al.Client == nil {
		al.Client = []report.APIEndpoint{}
	}
	switch {
	case startErr != nil:
		al.ServerNote = startErr.Error()
	case endErr != nil:
		al.ServerNote = endErr.Error()
	case endFams[latencyMetric] == nil:
		al.ServerNote = latencyMetric + " not exposed"
	default:
		al.ServerAvailable = true
		al.Server = diffEndpoints(requestHistograms(startFams), requestHistograms(endFams))
		if al.Server == nil {
			al.Server = []report.APIEndpoint{}
		}
	}
	return al
}

// phase runs fn as a named phase and records its duration and counts.
// fn returns the objects it wrote and the pods it brought to Running.
func (r *Runner) phase(ctx context.Context, name string, tuning string, fn func(ctx context.Context) (objects, pods int, err error)) error {
	start := r.clock()
	r.log.Info("phase", "name", name, "tuning", tuning)
	objects, pods, err := fn(ctx)
	end := r.clock()
	ph := report.Phase{Name: name, Start: start, End: end, DurationSeconds: end.Sub(start).Seconds(), Finished: err == nil,
		Tuning: tuning, Objects: objects, Pods: pods}
	if ph.DurationSeconds > 0 {
		ph.PodsPerSecond = float64(pods) / ph.DurationSeconds
	}
	r.mu.Lock()
	r.phases = append(r.phases, ph)
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("phase %s: %w", name, err)
	}
	return nil
}

// profileAt starts a CPU profile now and returns a func that takes the
// heap profile; both are no-ops without --pprof.
func (r *Runner) profileAt(ctx context.Context, name string) (heap func()) {
	if !r.cfg.Pprof {
		return func() {}
	}
	r.wg.Go(func() {
		f, err := r.prof.cpu(context.WithoutCancel(ctx), name, r.cfg.PprofDuration)
		r.addProfile(f, err)
	})
	return func() {
		f, err := r.prof.heap(context.WithoutCancel(ctx), name)
		r.addProfile(f, err)
	}
}

func (r *Runner) addProfile(f string, err error) {
	if err != nil {
		r.log.Warn("pprof", "err", err)
		return
	}
	r.mu.Lock()
	r.profiles = append(r.profiles, f)
	r.mu.Unlock()
}

// writeFiles writes result.json, pods.csv, report.html and summary.txt,
// and prints the summary.
func (r *Runner) writeFiles(res *report.Result, pods []report.PodTiming) error {
	dir := r.cfg.ReportDir
	res.Files = []string{"pods.csv", "report.html", "summary.txt"}
	f, err := os.Create(filepath.Join(dir, "pods.csv"))
	if err != nil {
		return err
	}
	if err := report.WritePodCSV(f, pods); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	h, err := os.Create(filepath.Join(dir, "report.html"))
	if err != nil {
		return err
	}
	if err := report.WriteHTML(h, res); err != nil {
		h.Close()
		return fmt.Errorf("HTML report: %w", err)
	}
	if err := h.Close(); err != nil {
		return err
	}
	var sum strings.Builder
	if err := report.WriteText(&sum, res); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(sum.String()), 0o644); err != nil {
		return err
	}
	if err := res.WriteFile(filepath.Join(dir, "result.json")); err != nil {
		return err
	}
	fmt.Fprint(r.cfg.Out, sum.String())
	fmt.Fprintf(r.cfg.Out, "\nreport: %s\n", filepath.Join(dir, "report.html"))
	return nil
}
