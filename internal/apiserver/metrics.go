package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API server's Prometheus series, named as upstream's.
type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	inflight    *prometheus.GaugeVec
	inqueue     *prometheus.GaugeVec
	queued      *prometheus.CounterVec
	watchers    *prometheus.GaugeVec
	watchEvents *prometheus.CounterVec
	watchEnded  *prometheus.CounterVec
	objects     *prometheus.GaugeVec

	mu      sync.Mutex
	clients map[string]bool
}

// maxClients bounds the cardinality of the client label; user agents are
// chosen by clients, so later ones are counted as "other".
const maxClients = 64

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, client, content type, and HTTP response code.",
		}, []string{"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "client", "content_type", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope, component and client.",
			Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "client"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests",
			Help: "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
		}, []string{"request_kind"}),
		inqueue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inqueue_requests",
			Help: "Maximal number of queued requests in this apiserver per request kind in last second.",
		}, []string{"request_kind"}),
		queued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_inflight_queued_requests_total",
			Help: "Requests that waited for an in-flight seat, by request kind and whether they got one.",
		}, []string{"request_kind", "admitted"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently registered watchers for a given resource.",
		}, []string{"group", "resource"}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_events_total",
			Help: "Number of events sent in watch clients.",
		}, []string{"group", "resource"}),
		watchEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_watch_terminated_total",
			Help: "Number of watches the server ended because writing to the client failed, by reason: write_timeout (the client stopped reading for longer than the watch write timeout) or write_error.",
		}, []string{"group", "resource", "reason"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_storage_objects",
			Help: "Number of stored objects at the time of last check split by kind.",
		}, []string{"resource"}),
		clients: map[string]bool{},
	}
	reg.MustRegister(m.requests, m.latency, m.inflight, m.inqueue, m.queued, m.watchers, m.watchEvents, m.watchEnded, m.objects)
	return m
}

// client turns a User-Agent into a bounded label: the product name.
func (m *metrics) client(ua string) string {
	name := ua
	if i := strings.IndexAny(name, "/ "); i >= 0 {
		name = name[:i]
	}
	if len(name) > 40 {
		name = name[:40]
	}
	if name == "" {
		return "unknown"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clients[name] {
		return name
	}
	if len(m.clients) >= maxClients {
		return "other"
	}
	m.clients[name] = true
	return name
}

// statusRecorder remembers the response code and keeps Flush working for
// watches.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// FlushError is Flush reporting failure, for http.ResponseController: a
// watch must know when the client no longer takes its bytes.
func (s *statusRecorder) FlushError() error {
	return http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// metricsVerb is upstream's canonical verb label (LIST, WATCH, APPLY...).
func metricsVerb(r *http.Request, ri *RequestInfo) string {
	switch ri.Verb {
	case "list":
		return "LIST"
	case "watch":
		return "WATCH"
	case "deletecollection":
		return "DELETECOLLECTION"
	}
	if r.Method == http.MethodPatch && strings.HasPrefix(r.Header.Get("Content-Type"), "application/apply-patch") {
		return "APPLY"
	}
	return r.Method
}

func (s *Server) withMetrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		ri := infoFrom(r.Context())
		if !ri.IsResourceRequest {
			return
		}
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		verb := metricsVerb(r, ri)
		dry := ""
		if r.URL.Query().Has("dryRun") {
			dry = "All"
		}
		client := s.metrics.client(r.UserAgent())
		ct := r.Header.Get("Accept")
		if i := strings.IndexByte(ct, ','); i >= 0 {
			ct = ct[:i]
		}
		if i := strings.IndexByte(ct, ';'); i >= 0 {
			ct = ct[:i]
		}
		switch ct {
		case mediaJSON, mediaYAML, mediaProtobuf:
		default:
			ct = "other"
		}
		s.metrics.requests.WithLabelValues(verb, dry, ri.APIGroup, ri.APIVersion, ri.Resource, ri.Subresource, ri.Scope(), "apiserver", client, ct, strconv.Itoa(rec.code)).Inc()
		s.metrics.latency.WithLabelValues(verb, dry, ri.APIGroup, ri.APIVersion, ri.Resource, ri.Subresource, ri.Scope(), "apiserver", client).Observe(time.Since(start).Seconds())
	})
}

// countObjects refreshes apiserver_storage_objects every minute with
// count-only reads (no data transferred).
func (s *Server) countObjects(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		seen := map[string]bool{}
		for _, sv := range s.resources {
			if sv.rest == nil {
				continue
			}
			key := sv.rest.Prefix("")
			if seen[key] {
				continue
			}
			seen[key] = true
			n, err := s.store.Count(ctx, key)
			if err != nil {
				continue
			}
			name := sv.res.Resource
			if sv.res.Group != "" {
				name += "." + sv.res.Group
			}
			s.metrics.objects.WithLabelValues(name).Set(float64(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
