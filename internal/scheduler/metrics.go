package scheduler

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Result labels, as upstream.
const (
	resultScheduled     = "scheduled"
	resultUnschedulable = "unschedulable"
	resultError         = "error"
)

// metrics are upstream's scheduler metric names, registered on the
// configured registry.
type metrics struct {
	attempts       *prometheus.CounterVec
	attemptLatency *prometheus.HistogramVec
	e2eLatency     *prometheus.HistogramVec
	bindLatency    *prometheus.HistogramVec
	pending        *prometheus.GaugeVec
	// preemptionAttempts and preemptionVictims count preemptions that
	// evicted pods, as upstream.
	preemptionAttempts prometheus.Counter
	preemptionVictims  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: "scheduler", Name: "schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result."}, []string{"result", "profile"}),
		attemptLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "scheduler", Name: "scheduling_attempt_duration_seconds",
			Help: "Scheduling attempt latency in seconds (scheduling algorithm + binding).", Buckets: buckets}, []string{"result", "profile"}),
		e2eLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "scheduler", Name: "e2e_scheduling_duration_seconds",
			Help: "E2e scheduling latency in seconds (from the first attempt to bound).", Buckets: buckets}, []string{"result", "profile"}),
		bindLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Subsystem: "scheduler", Name: "binding_duration_seconds",
			Help: "Binding latency in seconds.", Buckets: buckets}, []string{"result"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: "scheduler", Name: "pending_pods",
			Help: "Number of pending pods, by the queue type."}, []string{"queue"}),
	}
	m.preemptionAttempts = register(reg, prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "scheduler", Name: "preemption_attempts_total",
		Help: "Total preemption attempts in the cluster till now"}))
	m.preemptionVictims = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: "scheduler", Name: "preemption_victims",
		Help: "Number of selected preemption victims", Buckets: prometheus.ExponentialBuckets(1, 2, 7)}))
	m.attempts = register(reg, m.attempts)
	m.attemptLatency = register(reg, m.attemptLatency)
	m.e2eLatency = register(reg, m.e2eLatency)
	m.bindLatency = register(reg, m.bindLatency)
	m.pending = register(reg, m.pending)
	return m, nil
}

// register adds c, or returns the collector a previous scheduler in this
// process registered under the same name.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}
