package nodelifecycle

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetrics are upstream's node_collector_* metrics.
type nodeMetrics struct {
	zoneHealth       *prometheus.GaugeVec
	zoneSize         *prometheus.GaugeVec
	unhealthy        *prometheus.GaugeVec
	evictions        *prometheus.CounterVec
	allNodesDuration prometheus.Histogram
	nodeDuration     prometheus.Histogram
}

func newNodeMetrics(reg prometheus.Registerer) (*nodeMetrics, error) {
	const sub = "node_collector"
	m := &nodeMetrics{
		zoneHealth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: sub, Name: "zone_health",
			Help: "Gauge measuring percentage of healthy nodes per zone."}, []string{"zone"}),
		zoneSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: sub, Name: "zone_size",
			Help: "Gauge measuring number of registered Nodes per zones."}, []string{"zone"}),
		unhealthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: sub, Name: "unhealthy_nodes_in_zone",
			Help: "Gauge measuring number of not Ready Nodes per zones."}, []string{"zone"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: sub, Name: "evictions_total",
			Help: "Number of Node evictions that happened since current instance of NodeController started."}, []string{"zone"}),
		allNodesDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: sub, Name: "update_all_nodes_health_duration_seconds",
			Help: "Duration in seconds for NodeController to update the health of all nodes.", Buckets: []float64{.01, .04, .16, .64, 2.56, 10.24, 40.96, 163.84}}),
		nodeDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: sub, Name: "update_node_health_duration_seconds",
			Help: "Duration in seconds for NodeController to update the health of a single node.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.zoneHealth, err = register(reg, m.zoneHealth); err != nil {
		return nil, err
	}
	if m.zoneSize, err = register(reg, m.zoneSize); err != nil {
		return nil, err
	}
	if m.unhealthy, err = register(reg, m.unhealthy); err != nil {
		return nil, err
	}
	if m.evictions, err = register(reg, m.evictions); err != nil {
		return nil, err
	}
	if m.allNodesDuration, err = register(reg, m.allNodesDuration); err != nil {
		return nil, err
	}
	if m.nodeDuration, err = register(reg, m.nodeDuration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (a second controller instance in the same registry).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metric: %w", err)
	}
	return c, nil
}
