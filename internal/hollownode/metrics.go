package hollownode

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the fleet's Prometheus metrics. Names follow the kubelet's
// where one exists (kubelet_* → hollow_node_*), so dashboards translate.
type metrics struct {
	registered      prometheus.Gauge
	leaseRenewals   *prometheus.CounterVec // result
	leaseInterval   prometheus.Histogram
	nodeStatus      *prometheus.CounterVec // result
	podStatus       *prometheus.CounterVec // result
	podDeletes      *prometheus.CounterVec // result
	podStart        prometheus.Histogram
	runningPods     prometheus.Gauge
	faultedNodes    prometheus.Gauge
	registerLatency prometheus.Histogram
	apiLatency      *prometheus.HistogramVec // write: pod_status, lease, node_status
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		registered: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hollow_node_registered_nodes",
			Help: "Nodes of this fleet registered (Node and Lease created, Ready posted).",
		}),
		leaseRenewals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollow_node_lease_renewals_total",
			Help: "Node Lease renewals by result (success, error).",
		}, []string{"result"}),
		leaseInterval: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hollow_node_lease_renew_interval_seconds",
			Help:    "Time between two successful renewals of a node's Lease; above leaseDurationSeconds the node was presumed dead.",
			Buckets: []float64{5, 9, 9.5, 10, 10.5, 11, 12, 15, 20, 30, 40, 60, 120},
		}),
		nodeStatus: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollow_node_node_status_updates_total",
			Help: "NodeStatus writes by result (success, error).",
		}, []string{"result"}),
		podStatus: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollow_node_pod_status_updates_total",
			Help: "Pod status writes by result (success, conflict, error).",
		}, []string{"result"}),
		podDeletes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hollow_node_pod_deletes_total",
			Help: "Final (grace 0) pod deletions after containers stopped, by result.",
		}, []string{"result"}),
		podStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hollow_node_pod_start_duration_seconds",
			Help:    "Time from the fleet seeing a pod bound to one of its nodes to its Running status written, including the simulated start latency.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10, 30, 60},
		}),
		runningPods: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hollow_node_running_pods",
			Help: "Pods the fleet's nodes run (Running written, not yet terminal or gone).",
		}),
		faultedNodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hollow_node_faulted_nodes",
			Help: "Nodes with an injected fault (heartbeats stopped, NotReady, flapping).",
		}),
		registerLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hollow_node_registration_duration_seconds",
			Help:    "Time from fleet start to a node registered and Ready.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
	}
	m.apiLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hollow_node_api_write_duration_seconds",
		Help:    "Round trip of the fleet's API writes by kind (pod_status, lease, node_status), client-side throttling and 429 retries included: the API's share of pod start and heartbeat latency.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, 3, 5, 10, 30},
	}, []string{"write"})
	for _, c := range []prometheus.Collector{m.apiLatency, m.registered, m.leaseRenewals, m.leaseInterval, m.nodeStatus, m.podStatus, m.podDeletes, m.podStart, m.runningPods, m.faultedNodes, m.registerLatency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register hollow node metrics: %w", err)
		}
	}
	return m, nil
}
