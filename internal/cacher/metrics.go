package cacher

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the watch cache's metrics, shared by the caches of one API
// server and labelled by resource. Names follow upstream's cacher metrics
// where upstream has one.
type Metrics struct {
	watchers     *prometheus.GaugeVec
	dispatched   *prometheus.CounterVec
	received     *prometheus.CounterVec
	terminated   *prometheus.CounterVec
	rv           *prometheus.GaugeVec
	lag          *prometheus.GaugeVec
	listDuration *prometheus.HistogramVec
	inits        *prometheus.CounterVec
	consistent   *prometheus.CounterVec
}

// NewMetrics registers the metrics in reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_watch_cache_watchers",
			Help: "Number of watchers currently served by the watch cache, per resource.",
		}, []string{"resource"}),
		dispatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_cache_events_dispatched_total",
			Help: "Number of events queued to watchers by the watch cache, per resource.",
		}, []string{"resource"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_cache_events_received_total",
			Help: "Number of events the watch cache received from etcd, per resource.",
		}, []string{"resource"}),
		terminated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_terminated_watchers_total",
			Help: "Number of watchers closed because their queue was full (events dropped for them), per resource.",
		}, []string{"resource"}),
		rv: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_watch_cache_resource_version",
			Help: "The watch cache's current resourceVersion, per resource.",
		}, []string{"resource"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_watch_cache_resource_version_lag",
			Help: "How many etcd revisions the watch cache was behind etcd when a consistent read last checked, per resource.",
		}, []string{"resource"}),
		listDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_watch_cache_list_duration_seconds",
			Help:    "Latency of lists through the watch cache, by where they were served from (cache or etcd).",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"resource", "source"}),
		inits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_cache_initializations_total",
			Help: "Number of times the watch cache listed etcd to (re)initialise, per resource.",
		}, []string{"resource"}),
		consistent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_cache_consistent_read_total",
			Help: "Consistent reads through the watch cache, by whether they fell back to etcd.",
		}, []string{"resource", "fallback"}),
	}
	if reg != nil {
		reg.MustRegister(m.watchers, m.dispatched, m.received, m.terminated, m.rv, m.lag, m.listDuration, m.inits, m.consistent)
	}
	return m
}

// resourceMetrics are one resource's children, resolved once.
type resourceMetrics struct {
	watchers                  prometheus.Gauge
	dispatched, received      prometheus.Counter
	terminated, inits         prometheus.Counter
	rv, lag                   prometheus.Gauge
	listCache, listEtcd       prometheus.Observer
	consistentOK, consistentF prometheus.Counter
}

func (m *Metrics) forResource(res string) *resourceMetrics {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &resourceMetrics{
		watchers:     m.watchers.WithLabelValues(res),
		dispatched:   m.dispatched.WithLabelValues(res),
		received:     m.received.WithLabelValues(res),
		terminated:   m.terminated.WithLabelValues(res),
		inits:        m.inits.WithLabelValues(res),
		rv:           m.rv.WithLabelValues(res),
		lag:          m.lag.WithLabelValues(res),
		listCache:    m.listDuration.WithLabelValues(res, "cache"),
		listEtcd:     m.listDuration.WithLabelValues(res, "etcd"),
		consistentOK: m.consistent.WithLabelValues(res, "false"),
		consistentF:  m.consistent.WithLabelValues(res, "true"),
	}
}

func observeSince(o prometheus.Observer, start time.Time) { o.Observe(time.Since(start).Seconds()) }
