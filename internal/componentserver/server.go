package componentserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
)

// Server serves a component's health, metrics and profiling endpoints.
type Server struct {
	cfg  Config
	log  *slog.Logger
	auth *delegated
	ln   net.Listener
	srv  *http.Server
}

// New checks cfg, creates the self-signed serving certificate (as
// upstream does without --tls-cert-file) and listens, so Addr is known
// before Run.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("component server config: %w", err)
	}
	roots, err := clusterCA(cfg.RESTConfig)
	if err != nil {
		return nil, err
	}
	rc := rest.CopyConfig(cfg.RESTConfig)
	rc.UserAgent = "kplane-" + cfg.Name + "-auth-delegator"
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("auth client: %w", err)
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", cfg.Address, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(host, nil, []string{"localhost"})
	if err != nil {
		return nil, fmt.Errorf("self-signed serving certificate: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, auth: &delegated{client: client, roots: roots, ttl: cfg.AuthCacheTTL, now: cfg.Now,
		tokens: map[[32]byte]cachedUser{}, access: map[string]cachedDecision{}}}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", cfg.Address, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			// Certificates are verified by the authenticator, so a bad one
			// is a 401 rather than a failed handshake, as upstream.
			ClientAuth: tls.RequestClientCert}}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("serving health, metrics and pprof", "server", s.cfg.Name, "address", "https://"+s.Addr())
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(tls.NewListener(s.ln, s.srv.TLSConfig)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("component server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Handler routes the endpoints; health checks are open, the rest needs
// an authorized user.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/livez", ok)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Ready != nil {
			select {
			case <-s.cfg.Ready:
			default:
				http.Error(w, "not ready", http.StatusInternalServerError)
				return
			}
		}
		ok(w, r)
	})
	mux.Handle("/metrics", s.protect(promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{})))
	mux.Handle("/debug/pprof/", s.protect(http.HandlerFunc(pprof.Index)))
	mux.Handle("/debug/pprof/cmdline", s.protect(http.HandlerFunc(pprof.Cmdline)))
	mux.Handle("/debug/pprof/profile", s.protect(http.HandlerFunc(pprof.Profile)))
	mux.Handle("/debug/pprof/symbol", s.protect(http.HandlerFunc(pprof.Symbol)))
	mux.Handle("/debug/pprof/trace", s.protect(http.HandlerFunc(pprof.Trace)))
	for pattern, h := range s.cfg.Protected {
		mux.Handle(pattern, s.protect(h))
	}
	return mux
}

// protect authenticates and authorizes before next.
func (s *Server) protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.auth.authenticate(r)
		if err != nil {
			s.log.Debug("authentication failed", "path", r.URL.Path, "err", err)
			writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, "Unauthorized")
			return
		}
		verb := strings.ToLower(r.Method)
		allowed, reason, err := s.auth.authorize(r.Context(), u, verb, r.URL.Path)
		if err != nil {
			s.log.Info("authorization failed", "path", r.URL.Path, "user", u.name, "err", err)
			writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "Internal Server Error: authorization: "+err.Error())
			return
		}
		if !allowed {
			msg := fmt.Sprintf("forbidden: User %q cannot %s path %q", u.name, verb, r.URL.Path)
			if reason != "" {
				msg += ": " + reason
			}
			writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeStatus answers with a metav1.Status, as upstream's filters do.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, msg string) {
	st := metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure,
		Message: msg, Reason: reason, Code: int32(code)}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}
