package hollownode

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Defaults of Config; see each field.
const (
	DefaultNamePrefix           = "hollow-node-"
	DefaultQPS                  = 1000
	DefaultBurst                = 2000
	DefaultNodeQPS              = 1000
	DefaultNodeBurst            = 2000
	DefaultPodWorkers           = 128
	DefaultLeaseDuration        = 40 * time.Second
	DefaultLeaseRenewInterval   = 10 * time.Second
	DefaultStatusReportInterval = 5 * time.Minute
	DefaultClusterCIDR          = "10.64.0.0/10"
	DefaultNodeCIDRMaskSize     = 24
	DefaultNodeIPCIDR           = "10.32.0.0/14"
	DefaultStartLatency         = 100 * time.Millisecond
	DefaultStartLatencySigma    = 0.5
	DefaultJobRunDuration       = 5 * time.Second
	DefaultStopDuration         = time.Second
	DefaultFlapPeriod           = 20 * time.Second
	DefaultKubeletVersion       = "v1.37.2"
	DefaultRegion               = "region-1"
)

// DefaultZones are the topology zones nodes are spread over round-robin.
var DefaultZones = []string{"zone-a", "zone-b", "zone-c"}

// Config configures a Fleet. Zero values take the documented defaults.
type Config struct {
	// RESTConfig reaches the API server; required. Its QPS and Burst are
	// replaced by QPS/Burst and NodeQPS/NodeBurst.
	RESTConfig *rest.Config
	// Count is the number of nodes; required, at least 1.
	Count int
	// NamePrefix prefixes node names (prefix + index); default
	// "hollow-node-".
	NamePrefix string
	// FirstIndex is the index of the first node (names are
	// NamePrefix+FirstIndex ... NamePrefix+FirstIndex+Count-1); default 0.
	// It also picks the nodes' podCIDRs and IPs, so fleets sharing a
	// cluster should use disjoint ranges.
	FirstIndex int

	// QPS and Burst limit pod writes (status, final delete); default 1000
	// and 2000.
	QPS   float32
	Burst int
	// NodeQPS and NodeBurst limit node writes (registration, Leases,
	// NodeStatus) separately, so pod churn cannot starve heartbeats;
	// default 1000 and 2000. 5,000 nodes renew 500 Leases/s.
	NodeQPS   float32
	NodeBurst int
	// PodWorkers bounds the goroutines writing pod state; default 128:
	// pods start at up to PodWorkers/latency per second, so 128 keep up
	// with 400 pods/s while the API server answers within 300ms. A busy
	// API server at 5,000 nodes answers status writes in up to 0.5s: at
	// 250 pods/s, 128 workers then queue pods (start p99 1.06s) where 256
	// do not (0.49s).
	// NodeWorkers bounds those registering nodes and writing NodeStatus;
	// default Count/100, at least 16.
	// LeaseWorkers bounds those renewing Leases, which have their own
	// queue, HTTP connection and rate limiter (NodeQPS) so that neither
	// registration nor pod traffic delays a heartbeat; default Count/50,
	// at least 16: renewals arrive at Count/LeaseRenewInterval and each
	// worker waits for one API round trip, so Count/50 workers keep up
	// while the API server answers within 200ms.
	// Each worker holds at most one mutating request: together they stay
	// under an API server's usual limit of 200 mutating requests in
	// flight (kplane's and upstream's default), beyond which it answers
	// 429 and client-go waits a second before retrying.
	PodWorkers, NodeWorkers, LeaseWorkers int

	// Node is the resources, labels and taints of every node.
	Node NodeProfile
	// Zones spreads nodes round-robin over topology.kubernetes.io/zone
	// values; default DefaultZones. Region is
	// topology.kubernetes.io/region; default "region-1".
	Zones  []string
	Region string
	// ClusterCIDR is split into per-node podCIDRs of NodeCIDRMaskSize bits
	// (default 10.64.0.0/10 and /24) for nodes whose spec.podCIDR no IPAM
	// controller set. NodeIPCIDR holds the nodes' InternalIPs (default
	// 10.32.0.0/14).
	ClusterCIDR      string
	NodeCIDRMaskSize int
	NodeIPCIDR       string

	// LeaseDuration is the Lease's leaseDurationSeconds (default 40s);
	// LeaseRenewInterval how often it is renewed (default 10s), spread
	// evenly over the nodes.
	LeaseDuration      time.Duration
	LeaseRenewInterval time.Duration
	// StatusReportInterval is how often the full NodeStatus is written when
	// nothing changed (default 5m), as the kubelet's
	// nodeStatusReportFrequency.
	StatusReportInterval time.Duration

	// Pods is the simulated behaviour of pods.
	Pods PodProfile

	// Seed makes start latencies and injected failures reproducible: each
	// pod draws from a source seeded by Seed and its namespace/name.
	Seed uint64
	// Clock defaults to the real clock.
	Clock clock.WithTicker
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics registers the fleet's metrics; nil uses a private registry,
	// served by Handler.
	Metrics prometheus.Registerer
}

// NodeProfile describes the nodes of a fleet.
type NodeProfile struct {
	// CPU, Memory, Pods and EphemeralStorage are capacity (and allocatable);
	// defaults 8 cores, 32Gi, 110 and 100Gi.
	CPU, Memory, Pods, EphemeralStorage resource.Quantity
	// InstanceType is node.kubernetes.io/instance-type; default
	// "hollow.large".
	InstanceType string
	// Labels are added to every node.
	Labels map[string]string
	// Taints are set on every node at registration.
	Taints []corev1.Taint
	// KubeletVersion is status.nodeInfo.kubeletVersion; default v1.37.2.
	KubeletVersion string
}

// PodProfile describes the simulated behaviour of pods.
type PodProfile struct {
	// StartLatency is the median time from seeing a pod bound to its
	// containers running (image pull, sandbox, start), drawn from a
	// log-normal distribution with StartLatencySigma; default 100ms and
	// 0.5. A negative StartLatency starts pods at once.
	StartLatency      time.Duration
	StartLatencySigma float64
	// ReadinessDelay is when a container with a readinessProbe turns Ready
	// if its probe has no initialDelaySeconds; default 0 (first probe
	// period).
	ReadinessDelay time.Duration
	// JobRunDuration is how long containers of pods owned by a Job run
	// before they exit 0; default 5s. Pods not owned by a Job run until
	// deleted unless annotated kplane.io/run-duration.
	JobRunDuration time.Duration
	// FailureRate is the probability that a container that runs to
	// completion exits 1 instead of 0; default 0.
	FailureRate float64
	// StopDuration is how long containers take to exit after a pod is
	// deleted (SIGTERM handling), capped by the grace period; default 1s,
	// negative for at once.
	// Containers with a preStop hook stop after the hook: a sleep hook's
	// seconds, otherwise the whole grace period.
	StopDuration time.Duration
	// PendingStatus writes a Pending status (containers waiting in
	// ContainerCreating) when a pod is accepted, before the Running one,
	// as the kubelet does; default off, since it doubles pod writes.
	PendingStatus bool
	// FlapPeriod is the Ready/NotReady period of a flapping node; default
	// 20s.
	FlapPeriod time.Duration
}

func (c Config) withDefaults() Config {
	if c.NamePrefix == "" {
		c.NamePrefix = DefaultNamePrefix
	}
	if c.QPS == 0 {
		c.QPS = DefaultQPS
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.NodeQPS == 0 {
		c.NodeQPS = DefaultNodeQPS
	}
	if c.NodeBurst == 0 {
		c.NodeBurst = DefaultNodeBurst
	}
	if c.PodWorkers == 0 {
		c.PodWorkers = DefaultPodWorkers
	}
	if c.NodeWorkers == 0 {
		c.NodeWorkers = max(16, c.Count/100)
	}
	if c.LeaseWorkers == 0 {
		c.LeaseWorkers = max(16, c.Count/50)
	}
	setQ := func(q *resource.Quantity, s string) {
		if q.IsZero() {
			*q = resource.MustParse(s)
		}
	}
	setQ(&c.Node.CPU, "8")
	setQ(&c.Node.Memory, "32Gi")
	setQ(&c.Node.Pods, "110")
	setQ(&c.Node.EphemeralStorage, "100Gi")
	if c.Node.InstanceType == "" {
		c.Node.InstanceType = "hollow.large"
	}
	if c.Node.KubeletVersion == "" {
		c.Node.KubeletVersion = DefaultKubeletVersion
	}
	if len(c.Zones) == 0 {
		c.Zones = DefaultZones
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.ClusterCIDR == "" {
		c.ClusterCIDR = DefaultClusterCIDR
	}
	if c.NodeCIDRMaskSize == 0 {
		c.NodeCIDRMaskSize = DefaultNodeCIDRMaskSize
	}
	if c.NodeIPCIDR == "" {
		c.NodeIPCIDR = DefaultNodeIPCIDR
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.LeaseRenewInterval == 0 {
		c.LeaseRenewInterval = DefaultLeaseRenewInterval
	}
	if c.StatusReportInterval == 0 {
		c.StatusReportInterval = DefaultStatusReportInterval
	}
	if c.Pods.StartLatency == 0 {
		c.Pods.StartLatency = DefaultStartLatency
	}
	if c.Pods.StartLatencySigma == 0 {
		c.Pods.StartLatencySigma = DefaultStartLatencySigma
	}
	if c.Pods.JobRunDuration == 0 {
		c.Pods.JobRunDuration = DefaultJobRunDuration
	}
	if c.Pods.StopDuration == 0 {
		c.Pods.StopDuration = DefaultStopDuration
	}
	if c.Pods.FlapPeriod == 0 {
		c.Pods.FlapPeriod = DefaultFlapPeriod
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem of a defaulted Config at once.
func (c Config) Validate() error {
	var errs []error
	if c.RESTConfig == nil {
		errs = append(errs, errors.New("RESTConfig is required"))
	}
	if c.Count < 1 {
		errs = append(errs, fmt.Errorf("count must be at least 1, got %d", c.Count))
	}
	if c.FirstIndex < 0 {
		errs = append(errs, fmt.Errorf("first index must not be negative, got %d", c.FirstIndex))
	}
	if c.QPS < 0 || c.NodeQPS < 0 || c.Burst < 0 || c.NodeBurst < 0 {
		errs = append(errs, errors.New("QPS and burst must not be negative"))
	}
	if c.PodWorkers < 1 || c.NodeWorkers < 1 || c.LeaseWorkers < 1 {
		errs = append(errs, errors.New("worker counts must be positive"))
	}
	cidr, err := netip.ParsePrefix(c.ClusterCIDR)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("cluster CIDR: %w", err))
	case !cidr.Addr().Is4():
		errs = append(errs, fmt.Errorf("cluster CIDR %s: only IPv4 is supported", cidr))
	case c.NodeCIDRMaskSize < cidr.Bits() || c.NodeCIDRMaskSize > 30:
		errs = append(errs, fmt.Errorf("node CIDR mask size %d must be between the cluster CIDR's %d and 30", c.NodeCIDRMaskSize, cidr.Bits()))
	case uint64(c.FirstIndex+c.Count) > uint64(1)<<(c.NodeCIDRMaskSize-cidr.Bits()):
		errs = append(errs, fmt.Errorf("cluster CIDR %s has room for %d /%d podCIDRs, need %d", cidr, uint64(1)<<(c.NodeCIDRMaskSize-cidr.Bits()), c.NodeCIDRMaskSize, c.FirstIndex+c.Count))
	}
	nodeNet, err := netip.ParsePrefix(c.NodeIPCIDR)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("node IP CIDR: %w", err))
	case !nodeNet.Addr().Is4():
		errs = append(errs, fmt.Errorf("node IP CIDR %s: only IPv4 is supported", nodeNet))
	case uint64(c.FirstIndex+c.Count+2) > uint64(1)<<(32-nodeNet.Bits()):
		errs = append(errs, fmt.Errorf("node IP CIDR %s is too small for %d nodes", nodeNet, c.FirstIndex+c.Count))
	}
	if c.LeaseRenewInterval <= 0 || c.LeaseDuration < c.LeaseRenewInterval {
		errs = append(errs, fmt.Errorf("lease renew interval %s must be positive and not above the lease duration %s", c.LeaseRenewInterval, c.LeaseDuration))
	}
	if c.StatusReportInterval <= 0 {
		errs = append(errs, fmt.Errorf("status report interval must be positive, got %s", c.StatusReportInterval))
	}
	if c.Pods.FailureRate < 0 || c.Pods.FailureRate > 1 {
		errs = append(errs, fmt.Errorf("failure rate must be in [0,1], got %g", c.Pods.FailureRate))
	}
	if c.Pods.StartLatencySigma < 0 {
		errs = append(errs, fmt.Errorf("start latency sigma must not be negative, got %g", c.Pods.StartLatencySigma))
	}
	return errors.Join(errs...)
}
