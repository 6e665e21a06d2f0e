package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"kplane/internal/componentserver"
	"kplane/internal/controlplane"
	"kplane/internal/hollownode"
)

// hollowFlags bind the hollow node fleet's flags.
type hollowFlags struct {
	kubeconfig, address, profile string
	count, firstIndex            int
	namePrefix                   string
	qps, nodeQPS                 float32
	burst, nodeBurst             int
	podWorkers, nodeWorkers      int
	leaseWorkers                 int
	cpu, memory, pods, storage   string
	instanceType                 string
	zones                        []string
	region                       string
	labels                       map[string]string
	taints                       []string
	clusterCIDR, nodeIPCIDR      string
	cidrMask                     int
	leaseDuration, renew, report time.Duration
	startLatency, readiness      time.Duration
	startSigma, failureRate      float64
	jobRun, stop, flap           time.Duration
	seed                         uint64
	pendingStatus                bool
}

func (f *hollowFlags) bind(fl *pflag.FlagSet, standalone bool) {
	if standalone {
		fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the nodes' identity (env KPLANE_KUBECONFIG, else KUBECONFIG)")
		fl.IntVar(&f.count, "count", 100, "number of hollow nodes")
		fl.StringVar(&f.address, "address", "127.0.0.1:10255", "address for /healthz, /metrics and /faults; empty disables")
	} else {
		fl.IntVar(&f.count, "nodes", 0, "hollow nodes to run in this process (0: none)")
		fl.StringVar(&f.address, "nodes-address", "", "address for the hollow nodes' /healthz, /metrics and /faults; empty disables (their metrics are on the API server's /metrics)")
	}
	prefixed := func(s string) string {
		if standalone {
			return s
		}
		return "nodes-" + s
	}
	fl.Float32Var(&f.qps, prefixed("kube-api-qps"), hollownode.DefaultQPS, "queries per second for pod writes (status, final deletes)")
	fl.IntVar(&f.burst, prefixed("kube-api-burst"), hollownode.DefaultBurst, "burst of pod writes")
	fl.StringVar(&f.profile, prefixed("profile"), "", "YAML file with node and pod profile fields (see README); flags given explicitly win")
	fl.StringVar(&f.namePrefix, prefixed("name-prefix"), hollownode.DefaultNamePrefix, "node names are prefix + index")
	fl.IntVar(&f.firstIndex, prefixed("first-index"), 0, "index of the first node; fleets sharing a cluster use disjoint ranges")
	fl.Float32Var(&f.nodeQPS, prefixed("node-api-qps"), hollownode.DefaultNodeQPS, "queries per second for node writes (registration, Leases, status), apart from pod writes")
	fl.IntVar(&f.nodeBurst, prefixed("node-api-burst"), hollownode.DefaultNodeBurst, "burst of node writes")
	fl.IntVar(&f.podWorkers, prefixed("pod-workers"), hollownode.DefaultPodWorkers, "goroutines writing pod state")
	fl.IntVar(&f.nodeWorkers, prefixed("node-workers"), 0, "goroutines registering nodes and writing their status; 0 is count/100, at least 16")
	fl.IntVar(&f.leaseWorkers, prefixed("lease-workers"), 0, "goroutines renewing Leases (own connection and queue); 0 is count/50, at least 16")
	fl.StringVar(&f.cpu, prefixed("cpu"), "8", "CPU capacity of each node")
	fl.StringVar(&f.memory, prefixed("memory"), "32Gi", "memory capacity of each node")
	fl.StringVar(&f.pods, prefixed("max-pods"), "110", "pod capacity of each node")
	fl.StringVar(&f.storage, prefixed("ephemeral-storage"), "100Gi", "ephemeral-storage capacity of each node")
	fl.StringVar(&f.instanceType, prefixed("instance-type"), "hollow.large", "node.kubernetes.io/instance-type label")
	fl.StringSliceVar(&f.zones, prefixed("zones"), hollownode.DefaultZones, "topology zones the nodes are spread over")
	fl.StringVar(&f.region, prefixed("region"), hollownode.DefaultRegion, "topology region of the nodes")
	fl.StringToStringVar(&f.labels, prefixed("node-labels"), nil, "extra labels of every node (k=v,...)")
	fl.StringSliceVar(&f.taints, prefixed("register-with-taints"), nil, "taints of every node at registration (key=value:Effect,...)")
	fl.StringVar(&f.clusterCIDR, prefixed("cluster-cidr"), hollownode.DefaultClusterCIDR, "range split into per-node podCIDRs (unless the cluster's IPAM sets them)")
	fl.IntVar(&f.cidrMask, prefixed("node-cidr-mask-size"), hollownode.DefaultNodeCIDRMaskSize, "prefix length of each node's podCIDR")
	fl.StringVar(&f.nodeIPCIDR, prefixed("node-ip-cidr"), hollownode.DefaultNodeIPCIDR, "range of the nodes' InternalIPs")
	fl.DurationVar(&f.leaseDuration, prefixed("node-lease-duration"), hollownode.DefaultLeaseDuration, "leaseDurationSeconds of node Leases")
	fl.DurationVar(&f.renew, prefixed("node-lease-renew-interval"), hollownode.DefaultLeaseRenewInterval, "how often each node renews its Lease")
	fl.DurationVar(&f.report, prefixed("node-status-report-frequency"), hollownode.DefaultStatusReportInterval, "how often full NodeStatus is written when nothing changed")
	fl.DurationVar(&f.startLatency, prefixed("pod-start-latency"), hollownode.DefaultStartLatency, "median simulated pod start latency; negative starts pods at once")
	fl.Float64Var(&f.startSigma, prefixed("pod-start-latency-sigma"), hollownode.DefaultStartLatencySigma, "log-normal sigma of the start latency")
	fl.DurationVar(&f.readiness, prefixed("readiness-delay"), 0, "readiness of containers with a readinessProbe without initialDelaySeconds")
	fl.DurationVar(&f.jobRun, prefixed("job-run-duration"), hollownode.DefaultJobRunDuration, "run time of Job pods' containers")
	fl.Float64Var(&f.failureRate, prefixed("pod-failure-rate"), 0, "probability a container that runs to completion exits 1")
	fl.DurationVar(&f.stop, prefixed("pod-stop-duration"), hollownode.DefaultStopDuration, "how long containers take to stop after deletion (capped by the grace period)")
	fl.DurationVar(&f.flap, prefixed("flap-period"), hollownode.DefaultFlapPeriod, "Ready/NotReady period of a flapping node")
	fl.Uint64Var(&f.seed, prefixed("seed"), 1, "seed of simulated latencies and failures")
	fl.BoolVar(&f.pendingStatus, prefixed("pod-pending-status"), false, "write a Pending (ContainerCreating) status before Running, as the kubelet; doubles pod writes")
}

// profileFile is the YAML of --profile: the node and pod profile. Fields
// given there are overridden by flags set on the command line.
type profileFile struct {
	CPU              string            `json:"cpu"`
	Memory           string            `json:"memory"`
	MaxPods          string            `json:"maxPods"`
	EphemeralStorage string            `json:"ephemeralStorage"`
	InstanceType     string            `json:"instanceType"`
	Zones            []string          `json:"zones"`
	Region           string            `json:"region"`
	Labels           map[string]string `json:"labels"`
	Taints           []corev1.Taint    `json:"taints"`
	PodStartLatency  string            `json:"podStartLatency"`
	JobRunDuration   string            `json:"jobRunDuration"`
	PodFailureRate   *float64          `json:"podFailureRate"`
	PodStopDuration  string            `json:"podStopDuration"`
}

func (f *hollowFlags) config(cmd *cobra.Command) (hollownode.Config, error) {
	fl := cmd.Flags()
	if f.profile != "" {
		if err := f.applyProfile(fl); err != nil {
			return hollownode.Config{}, err
		}
	}
	var errs []error
	qty := func(name, s string) resource.Quantity {
		q, err := resource.ParseQuantity(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, s, err))
		}
		return q
	}
	cfg := hollownode.Config{
		Count: f.count, NamePrefix: f.namePrefix, FirstIndex: f.firstIndex,
		QPS: f.qps, Burst: f.burst, NodeQPS: f.nodeQPS, NodeBurst: f.nodeBurst,
		PodWorkers: f.podWorkers, NodeWorkers: f.nodeWorkers, LeaseWorkers: f.leaseWorkers,
		Node: hollownode.NodeProfile{
			CPU: qty("cpu", f.cpu), Memory: qty("memory", f.memory), Pods: qty("max-pods", f.pods),
			EphemeralStorage: qty("ephemeral-storage", f.storage), InstanceType: f.instanceType, Labels: f.labels,
		},
		Zones: f.zones, Region: f.region,
		ClusterCIDR: f.clusterCIDR, NodeCIDRMaskSize: f.cidrMask, NodeIPCIDR: f.nodeIPCIDR,
		LeaseDuration: f.leaseDuration, LeaseRenewInterval: f.renew, StatusReportInterval: f.report,
		Pods: hollownode.PodProfile{
			StartLatency: f.startLatency, StartLatencySigma: f.startSigma, ReadinessDelay: f.readiness,
			JobRunDuration: f.jobRun, FailureRate: f.failureRate, StopDuration: f.stop, FlapPeriod: f.flap,
			PendingStatus: f.pendingStatus,
		},
		Seed:   f.seed,
		Logger: newLogger(cmd),
	}
	// Zero on the command line means at once, not the default.
	if f.startLatency == 0 {
		cfg.Pods.StartLatency = -1
	}
	if f.stop == 0 {
		cfg.Pods.StopDuration = -1
	}
	for _, s := range f.taints {
		t, err := parseTaint(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg.Node.Taints = append(cfg.Node.Taints, t)
	}
	return cfg, errors.Join(errs...)
}

// applyProfile sets the flags the user did not set from --profile.
func (f *hollowFlags) applyProfile(fl *pflag.FlagSet) error {
	raw, err := os.ReadFile(f.profile)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	var p profileFile
	if err := yaml.UnmarshalStrict(raw, &p); err != nil {
		return fmt.Errorf("profile %s: %w", f.profile, err)
	}
	set := func(v *string, name, val string) {
		if val != "" && !changed(fl, name) {
			*v = val
		}
	}
	set(&f.cpu, "cpu", p.CPU)
	set(&f.memory, "memory", p.Memory)
	set(&f.pods, "max-pods", p.MaxPods)
	set(&f.storage, "ephemeral-storage", p.EphemeralStorage)
	set(&f.instanceType, "instance-type", p.InstanceType)
	set(&f.region, "region", p.Region)
	if len(p.Zones) > 0 && !changed(fl, "zones") {
		f.zones = p.Zones
	}
	if len(p.Labels) > 0 && !changed(fl, "node-labels") {
		f.labels = p.Labels
	}
	var errs []error
	dur := func(v *time.Duration, name, val string) {
		if val == "" || changed(fl, name) {
			return
		}
		d, err := time.ParseDuration(val)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %s: %w", name, err))
			return
		}
		*v = d
	}
	dur(&f.startLatency, "pod-start-latency", p.PodStartLatency)
	dur(&f.jobRun, "job-run-duration", p.JobRunDuration)
	dur(&f.stop, "pod-stop-duration", p.PodStopDuration)
	if p.PodFailureRate != nil && !changed(fl, "pod-failure-rate") {
		f.failureRate = *p.PodFailureRate
	}
	for _, t := range p.Taints {
		if !changed(fl, "register-with-taints") {
			f.taints = append(f.taints, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
		}
	}
	return errors.Join(errs...)
}

// changed is whether flag name (or its nodes- twin under up) was set.
func changed(fl *pflag.FlagSet, name string) bool {
	for _, n := range []string{name, "nodes-" + name} {
		if f := fl.Lookup(n); f != nil && f.Changed {
			return true
		}
	}
	return false
}

// parseTaint parses key[=value]:Effect as kubelet's --register-with-taints.
func parseTaint(s string) (corev1.Taint, error) {
	var t corev1.Taint
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return t, fmt.Errorf("taint %q: want key[=value]:Effect", s)
	}
	kv, effect := s[:i], s[i+1:]
	switch e := corev1.TaintEffect(effect); e {
	case corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		t.Effect = e
	default:
		return t, fmt.Errorf("taint %q: unknown effect %q", s, effect)
	}
	t.Key, t.Value, _ = strings.Cut(kv, "=")
	if t.Key == "" {
		return t, fmt.Errorf("taint %q: empty key", s)
	}
	return t, nil
}

// runFleet runs a fleet until ctx is done, serving its Handler on address
// if set, and reports readiness on out.
func runFleet(ctx context.Context, cfg hollownode.Config, address string, out io.Writer) error {
	fleet, err := hollownode.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	if address != "" {
		// HTTPS with delegated authn/authz, as every kplane endpoint:
		// /healthz open, /metrics and /faults for users RBAC allows
		// (get/post on the non-resource URL).
		gatherer := fleet.Gatherer()
		if gatherer == nil {
			gatherer = prometheus.NewRegistry()
		}
		srv, err := componentserver.New(componentserver.Config{
			Name: "hollow-nodes", Address: address, RESTConfig: cfg.RESTConfig, Gatherer: gatherer,
			Ready: fleet.Ready(), Logger: cfg.Logger, Protected: map[string]http.Handler{"/faults": fleet.FaultsHandler()},
		})
		if err != nil {
			return fmt.Errorf("hollow nodes: %w", err)
		}
		fmt.Fprintf(out, "hollow nodes serve /healthz, /metrics and /faults on https://%s\n", srv.Addr())
		wg.Go(func() {
			if err := srv.Run(ctx); err != nil {
				fmt.Fprintf(out, "hollow nodes server: %v\n", err)
			}
		})
	}
	start := time.Now()
	wg.Go(func() {
		select {
		case <-fleet.Ready():
			took := time.Since(start)
			fmt.Fprintf(out, "%d hollow nodes ready in %s (%.0f nodes/s)\n", cfg.Count, took.Round(time.Millisecond), float64(cfg.Count)/took.Seconds())
		case <-ctx.Done():
		}
	})
	return fleet.Run(ctx)
}

func newNodesCommand() *cobra.Command {
	var f hollowFlags
	cmd := &cobra.Command{
		Use:   "nodes",
		Short: "Run hollow (simulated) kubelets against an API server: Nodes, Leases and pod lifecycle without containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kubeconfig := f.kubeconfig
			if kubeconfig == "" {
				// Like kubectl: hollow nodes join whatever cluster the
				// user points at.
				kubeconfig = os.Getenv("KUBECONFIG")
			}
			return runStandalone(kubeconfig, func(ctx context.Context, rc *rest.Config) error {
				cfg, err := f.config(cmd)
				if err != nil {
					return err
				}
				cfg.RESTConfig = rc
				return runFleet(ctx, cfg, f.address, cmd.OutOrStdout())
			})
		},
	}
	f.bind(cmd.Flags(), true)
	return cmd
}

// hollowNodesComponent runs the fleet inside `kplane up` with the admin
// credential; its metrics join the API server's /metrics.
func hollowNodesComponent(cmd *cobra.Command, f *hollowFlags) component {
	return component{name: "hollow-nodes", run: func(ctx context.Context, cp *controlplane.ControlPlane) error {
		rc, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
		if err != nil {
			return fmt.Errorf("hollow nodes kubeconfig: %w", err)
		}
		cfg, err := f.config(cmd)
		if err != nil {
			return err
		}
		cfg.RESTConfig = rc
		if reg := cp.Metrics(); reg != nil {
			cfg.Metrics = reg
		}
		return runFleet(ctx, cfg, f.address, cmd.OutOrStdout())
	}}
}
