package hollownode

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the fleet over plain HTTP without authentication, for
// in-process tests; the CLI serves the same endpoints over HTTPS with
// delegated auth (FaultsHandler behind componentserver):
//
//	GET  /healthz              ok once every node is registered
//	GET  /metrics              the fleet's metrics (when its registry gathers)
//	GET  /faults               {"node": "fault", ...} of faulted nodes
//	POST /faults?node=A,B&fault=stop-heartbeats|not-ready|flap|none
func (f *Fleet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-f.ready:
			fmt.Fprintln(w, "ok")
		default:
			http.Error(w, fmt.Sprintf("%d/%d nodes registered", f.registered.Load(), len(f.nodes)), http.StatusServiceUnavailable)
		}
	})
	if f.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(f.gatherer, promhttp.HandlerOpts{}))
	}
	faults := f.FaultsHandler()
	mux.Handle("/faults", faults)
	return mux
}

// FaultsHandler serves GET and POST /faults alone, for a server that
// authenticates and authorizes operators before it (the CLI mounts it
// behind componentserver's delegated auth).
func (f *Fleet) FaultsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string]string{}
		for _, n := range f.nodes {
			if fl := Fault(n.fault.Load()); fl != FaultNone {
				out[n.name] = fl.String()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		fault, err := ParseFault(r.URL.Query().Get("fault"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		names := strings.Split(r.URL.Query().Get("node"), ",")
		for _, name := range names {
			if err := f.SetFault(strings.TrimSpace(name), fault); err != nil {
				code := http.StatusBadRequest
				if errors.Is(err, ErrUnknownNode) {
					code = http.StatusNotFound
				}
				http.Error(w, err.Error(), code)
				return
			}
		}
		fmt.Fprintf(w, "%s: %s\n", strings.Join(names, ","), fault)
	})
	return mux
}

// Gatherer is the registry the fleet's metrics are in when it gathers
// (nil otherwise).
func (f *Fleet) Gatherer() prometheus.Gatherer { return f.gatherer }
