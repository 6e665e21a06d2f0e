package storage

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records etcd request latency as upstream's
// etcd_request_duration_seconds{operation,type}.
type Metrics struct {
	latency *prometheus.HistogramVec
	// cached counts writes that started from a cached copy
	// (GuaranteedUpdateFrom, DeleteFrom) by whether that copy was current
	// ("hit") or had to be replaced by etcd's object ("stale").
	cached *prometheus.CounterVec
}

// NewMetrics registers the storage metrics in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "etcd_request_duration_seconds",
		Help:    "Etcd request latency in seconds for each operation and object type.",
		Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
	}, []string{"operation", "type"}),
		cached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_storage_cached_writes_total",
			Help: "Updates and deletes that started from the watch cache's copy of the object instead of reading etcd, by whether the copy was current (hit) or stale (retried from etcd).",
		}, []string{"operation", "type", "result"}),
	}
	if reg != nil {
		reg.MustRegister(m.latency, m.cached)
	}
	return m
}

func (m *Metrics) observe(op, typ string, d time.Duration) {
	m.latency.WithLabelValues(op, typ).Observe(d.Seconds())
}

func (m *Metrics) cachedWrite(op, typ string, hit bool) {
	result := "stale"
	if hit {
		result = "hit"
	}
	m.cached.WithLabelValues(op, typ, result).Inc()
}
