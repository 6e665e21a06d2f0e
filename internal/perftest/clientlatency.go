package perftest

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"kplane/internal/perftest/report"
)

// clientLatency records how long each API call took as the test's own
// client saw it (network, TLS, server and client-side throttling
// excluded: the wrapper sits below client-go's rate limiter). It is the
// only latency source against a server whose /metrics we may not read.
type clientLatency struct {
	mu      sync.Mutex // guards samples
	samples map[string]*clientSeries
}

type clientSeries struct {
	key  report.APIEndpoint
	secs []float64
}

func newClientLatency() *clientLatency {
	return &clientLatency{samples: map[string]*clientSeries{}}
}

// wrap is a rest.Config WrapTransport.
func (c *clientLatency) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		key, ok := classify(req)
		if !ok {
			return rt.RoundTrip(req)
		}
		start := time.Now()
		resp, err := rt.RoundTrip(req)
		if key.Verb == "WATCH" {
			return resp, err // lasts as long as we keep it open
		}
		c.record(key, time.Since(start).Seconds())
		return resp, err
	})
}

func (c *clientLatency) record(key report.APIEndpoint, s float64) {
	id := endpointID(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.samples[id]
	if cs == nil {
		cs = &clientSeries{key: key}
		c.samples[id] = cs
	}
	cs.secs = append(cs.secs, s)
}

// endpoints summarises what was recorded so far.
func (c *clientLatency) endpoints() []report.APIEndpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []report.APIEndpoint
	for _, cs := range c.samples {
		q := quantiles(cs.secs)
		e := cs.key
		e.Count, e.P50, e.P90, e.P99 = int64(q.Count), q.P50, q.P90, q.P99
		out = append(out, e)
	}
	sortEndpoints(out)
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// classify maps a request to upstream's metric labels: verb (LIST, GET,
// POST, PUT, PATCH, DELETE, DELETECOLLECTION, WATCH), group, resource,
// subresource and scope, from the URL alone.
func classify(req *http.Request) (report.APIEndpoint, bool) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	var e report.APIEndpoint
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		e.Group = parts[1]
		parts = parts[3:]
	default:
		return e, false
	}
	e.Scope = "cluster"
	if len(parts) >= 3 && parts[0] == "namespaces" {
		e.Scope = "namespace"
		parts = parts[2:]
	}
	if len(parts) == 0 {
		// A namespace itself: /api/v1/namespaces/{name}.
		e.Resource, e.Scope = "namespaces", "resource"
		parts = []string{"namespaces", ""}
	}
	e.Resource = parts[0]
	named := len(parts) >= 2
	if named {
		e.Scope = "resource"
	}
	if len(parts) >= 3 {
		e.Subresource = parts[2]
	}
	q := req.URL.Query()
	switch req.Method {
	case http.MethodGet:
		switch {
		case q.Get("watch") == "true" || q.Get("watch") == "1":
			e.Verb = "WATCH"
		case named:
			e.Verb = "GET"
		default:
			e.Verb = "LIST"
		}
	case http.MethodDelete:
		e.Verb = "DELETE"
		if !named {
			e.Verb = "DELETECOLLECTION"
		}
	default:
		e.Verb = req.Method
	}
	return e, true
}
