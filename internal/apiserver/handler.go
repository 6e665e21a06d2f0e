package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/auth"
)

type ctxKey int

const (
	userKey ctxKey = iota
	infoKey
)

func userFrom(ctx context.Context) *auth.User {
	u, _ := ctx.Value(userKey).(*auth.User)
	return u
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}

// publicPaths are served to anonymous clients, as upstream's
// system:public-info-viewer allows.
var publicPaths = map[string]bool{"/healthz": true, "/livez": true, "/readyz": true, "/version": true}

// Handler is the full filter chain: recovery, request info, metrics,
// authentication, in-flight limits, authorization, routing.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.serveHealth)
	mux.HandleFunc("/livez", s.serveHealth)
	mux.HandleFunc("/readyz", s.serveReady)
	mux.HandleFunc("/version", s.serveVersion)
	mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/openapi/v2", s.openapi)
	mux.Handle("/openapi/v3", s.openapiV3)
	mux.Handle("/openapi/v3/", s.openapiV3)
	mux.HandleFunc("/api", s.serveAPI)
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/apis", s.serveAPI)
	mux.HandleFunc("/apis/", s.serveAPI)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, apierrors.NewNotFound(schema.GroupResource{}, ""))
	})
	return s.withRecovery(s.withRequestInfo(s.withMetrics(s.withAuthentication(s.withImpersonation(s.withInFlightLimit(s.withAuthorization(mux)))))))
}

func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("%v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := parseRequestInfo(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey, ri)))
	})
}

func infoFrom(ctx context.Context) *RequestInfo {
	ri, _ := ctx.Value(infoKey).(*RequestInfo)
	return ri
}

func (s *Server) withAuthentication(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok, err := s.authn.Authenticate(r)
		if err != nil || !ok {
			if err == nil && publicPaths[r.URL.Path] {
				u = &auth.User{Name: "system:anonymous", Groups: []string{auth.GroupUnauthenticated}}
			} else {
				if err != nil {
					s.log.Debug("authentication failed", "path", r.URL.Path, "err", err)
				}
				s.writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
				return
			}
		}
		r.Header.Del("Authorization")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
	})
}

func (s *Server) withAuthorization(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ri := userFrom(r.Context()), infoFrom(r.Context())
		if publicPaths[r.URL.Path] || s.cfg.DisableAuthorization {
			next.ServeHTTP(w, r)
			return
		}
		a := auth.Attributes{
			User: u, Verb: ri.Verb, Namespace: ri.Namespace, APIGroup: ri.APIGroup, APIVersion: ri.APIVersion,
			Resource: ri.Resource, Subresource: ri.Subresource, Name: ri.Name, ResourceRequest: ri.IsResourceRequest, Path: r.URL.Path,
		}
		allowed, reason, err := s.authorize(r.Context(), a)
		if err != nil {
			s.log.Debug("authorization error", "user", u.Name, "err", err)
		}
		if !allowed {
			msg := auth.ForbiddenMessage(a)
			if reason != "" {
				msg += ": " + reason
			}
			e := apierrors.NewForbidden(schema.GroupResource{Group: ri.APIGroup, Resource: ri.Resource}, ri.Name, fmt.Errorf("%s", msg))
			s.writeError(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize allows system:masters always and asks RBAC otherwise.
func (s *Server) authorize(ctx context.Context, a auth.Attributes) (bool, string, error) {
	ref := s.authz.Load()
	if ref == nil {
		for _, g := range a.User.Groups {
			if g == auth.GroupMasters {
				return true, "", nil
			}
		}
		return false, "", nil
	}
	return ref.Authorizer.Authorize(ctx, a)
}

// authorizerRef boxes the authorizer so it can be swapped atomically.
type authorizerRef struct{ auth.Authorizer }

// withInFlightLimit bounds concurrent requests per kind (read-only,
// mutating); a request over the limit waits in a bounded queue for up to
// InFlightQueueWait and gets 429 only when the queue is full or the wait
// runs out. Watches are long-running and not counted, as upstream.
func (s *Server) withInFlightLimit(next http.Handler) http.Handler {
	queue := s.cfg.InFlightQueueLength
	readOnly := newSeatLimiter(s.cfg.MaxRequestsInFlight, queue, s.cfg.InFlightQueueWait,
		s.metrics.inqueue.WithLabelValues("readOnly"), s.metrics.inflight.WithLabelValues("readOnly"))
	mutating := newSeatLimiter(s.cfg.MaxMutatingRequestsInFlight, queue, s.cfg.InFlightQueueWait,
		s.metrics.inqueue.WithLabelValues("mutating"), s.metrics.inflight.WithLabelValues("mutating"))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := infoFrom(r.Context())
		if ri.Verb == "watch" || strings.HasPrefix(r.URL.Path, "/debug/pprof") {
			next.ServeHTTP(w, r)
			return
		}
		lim, kind := readOnly, "readOnly"
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			lim, kind = mutating, "mutating"
		}
		u := userFrom(r.Context())
		for _, g := range u.Groups {
			if g == auth.GroupMasters && u.Name == "system:apiserver" {
				next.ServeHTTP(w, r)
				return
			}
		}
		queued, err := lim.acquire(r.Context())
		if queued {
			s.metrics.queued.WithLabelValues(kind, strconv.FormatBool(err == nil)).Inc()
		}
		if err != nil {
			s.writeError(w, r, apierrors.NewTooManyRequests("Too many requests, please try again later.", 1))
			return
		}
		defer lim.release()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.store.CurrentRevision(ctx); err != nil {
		http.Error(w, "etcd check failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.ready:
		s.serveHealth(w, r)
	default:
		http.Error(w, "not ready: bootstrap or RBAC informers have not finished", http.StatusInternalServerError)
	}
}
