package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

// Errors returned by Server methods; test with errors.Is.
var (
	// ErrAlreadyStarted is returned by a second call to Start.
	ErrAlreadyStarted = errors.New("etcd: server already started")
	// ErrNotStarted is returned by methods that need a running server.
	ErrNotStarted = errors.New("etcd: server not started")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("etcd: server closed")
	// ErrStartTimeout is returned when etcd is not ready within
	// Config.StartTimeout.
	ErrStartTimeout = errors.New("etcd: timed out waiting for server to become ready")
	// ErrStopped is returned when etcd stops on its own while starting.
	ErrStopped = errors.New("etcd: server stopped while starting")
)

// Raft timing for the single-member embedded cluster. A lone member cannot
// lose quorum, so short ticks cost only a 100 Hz timer, and they cap the
// election a (re)start waits for at ~100 ms instead of etcd's default ~1 s,
// which `kplane up`'s < 2 s promise cannot afford.
const (
	raftTickMs     = 10
	raftElectionMs = 100
)

// maxPortAttempts bounds retries when a port picked for ":0" is taken by
// someone else between our probe and etcd's bind.
const maxPortAttempts = 3

// Server is one embedded etcd member. Methods are safe for concurrent use;
// Start and Close serialize on mu, so Close waits for an in-flight Start
// (cancel Start's context to abort it).
type Server struct {
	cfg Config
	log *slog.Logger
	// closing demotes etcd's log output to debug while it shuts down.
	closing atomic.Bool

	mu        sync.Mutex // guards everything below
	etcd      *embed.Etcd
	endpoints []string
	closed    bool
}

// New validates cfg and returns a Server that is not yet running.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Server{cfg: cfg, log: cfg.Logger.With("component", "etcd")}, nil
}

// Start launches etcd and blocks until it serves client requests, ctx is
// done, or Config.StartTimeout passes. On failure nothing is left running.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.etcd != nil:
		return ErrAlreadyStarted
	}
	if err := os.MkdirAll(s.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("etcd: create data dir: %w", err)
	}

	begin := time.Now()
	var (
		e         *embed.Etcd
		endpoints []string
	)
	for attempt := 1; ; attempt++ {
		ecfg, eps, picked, err := s.embedConfig()
		if err != nil {
			return err
		}
		e, err = embed.StartEtcd(ecfg)
		if err == nil {
			endpoints = eps
			break
		}
		if picked && attempt < maxPortAttempts && errors.Is(err, syscall.EADDRINUSE) {
			s.log.Debug("picked port was taken, retrying", "attempt", attempt, "err", err)
			continue
		}
		return fmt.Errorf("etcd: start in %s: %w", s.cfg.DataDir, err)
	}

	timer := time.NewTimer(s.cfg.StartTimeout)
	defer timer.Stop()
	var failure error
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		failure = fmt.Errorf("etcd: serve: %w", err)
	case <-e.Server.StopNotify():
		failure = ErrStopped
	case <-ctx.Done():
		failure = fmt.Errorf("etcd: waiting for ready: %w", ctx.Err())
	case <-timer.C:
		failure = fmt.Errorf("%w (%s)", ErrStartTimeout, s.cfg.StartTimeout)
	}
	if failure != nil {
		s.closing.Store(true) // the returned error says what went wrong
		e.Close()
		s.closing.Store(false)
		return failure
	}
	s.etcd = e
	s.endpoints = endpoints
	s.log.Info("etcd ready", "endpoints", endpoints, "dataDir", s.cfg.DataDir, "took", time.Since(begin))
	return nil
}

// embedConfig translates s.cfg into an embed.Config, resolving port 0 to a
// free port. picked reports whether any port was chosen here (and so may be
// retried on EADDRINUSE). endpoints are the client URLs to dial.
func (s *Server) embedConfig() (cfg *embed.Config, endpoints []string, picked bool, err error) {
	clientURL, pickedClient, err := resolvePort(s.cfg.ClientURL)
	if err != nil {
		return nil, nil, false, fmt.Errorf("etcd: ClientURL: %w", err)
	}
	peerURL, pickedPeer, err := resolvePort(s.cfg.PeerURL)
	if err != nil {
		return nil, nil, false, fmt.Errorf("etcd: PeerURL: %w", err)
	}

	cfg = embed.NewConfig()
	cfg.Name = s.cfg.Name
	cfg.Dir = s.cfg.DataDir
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClusterState = embed.ClusterStateFlagNew // ignored when the WAL exists
	cfg.TickMs = raftTickMs
	cfg.ElectionMs = raftElectionMs

	cfg.QuotaBackendBytes = s.cfg.QuotaBackendBytes
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = s.cfg.AutoCompactionRetention
	if s.cfg.SnapshotCount != 0 {
		cfg.SnapshotCount = s.cfg.SnapshotCount
	}
	cfg.UnsafeNoFsync = s.cfg.UnsafeNoFsync
	cfg.WatchProgressNotifyInterval = s.cfg.WatchProgressNotifyInterval

	// Nothing in kplane speaks etcd's JSON gateway; skipping it saves an
	// internal gRPC dial at start.
	cfg.EnableGRPCGateway = false
	cfg.Metrics = "basic"

	cfg.LogLevel = zapLevelName(*s.cfg.LogLevel)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newZapLogger(s.log, *s.cfg.LogLevel, &s.closing))

	return cfg, []string{endpointFor(clientURL)}, pickedClient || pickedPeer, nil
}

// resolvePort replaces port 0 in an http URL with a currently free port on
// the same host. embed cannot advertise a ":0" URL, so the port is probed
// here; the small race with other processes is covered by Start's retry.
func resolvePort(raw string) (u *url.URL, picked bool, err error) {
	u, err = url.Parse(raw)
	if err != nil {
		return nil, false, err
	}
	if u.Scheme != "http" || u.Port() != "0" {
		return u, false, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(u.Hostname(), "0"))
	if err != nil {
		return nil, false, fmt.Errorf("pick free port on %s: %w", u.Hostname(), err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return nil, false, fmt.Errorf("release probe listener: %w", err)
	}
	out := *u
	out.Host = net.JoinHostPort(u.Hostname(), fmt.Sprint(port))
	return &out, true, nil
}

// endpointFor returns the client endpoint for a listen URL: the URL itself,
// with unspecified hosts (0.0.0.0, ::) replaced by loopback.
func endpointFor(u *url.URL) string {
	if u.Scheme == "unix" {
		return u.String()
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(host, u.Port())
}

func zapLevelName(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "debug"
	case l <= slog.LevelInfo:
		return "info"
	case l <= slog.LevelWarn:
		return "warn"
	default:
		return "error"
	}
}

// Endpoints returns the client URLs of the running server, with any port 0
// resolved. It returns nil before Start.
func (s *Server) Endpoints() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.endpoints...)
}

// DataDir returns the directory etcd stores its data in.
func (s *Server) DataDir() string { return s.cfg.DataDir }

// Err returns a channel that receives fatal serving errors after Start. It
// is closed when the server is closed. It returns nil (blocks forever)
// before Start.
func (s *Server) Err() <-chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etcd == nil {
		return nil
	}
	return s.etcd.Err()
}

// Client returns a new gRPC client for this server. The caller owns it and
// must Close it; closing the Server does not close clients.
func (s *Server) Client() (*clientv3.Client, error) {
	eps := s.Endpoints()
	if len(eps) == 0 {
		return nil, ErrNotStarted
	}
	return newClient(eps, nil, newZapLogger(s.log, *s.cfg.LogLevel, nil))
}

// Close stops etcd gracefully: in-flight requests finish (bounded by
// etcd's request timeout), the WAL is synced and closed. It is idempotent
// and safe to call on a server that never started.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.etcd == nil {
		return nil
	}
	s.closing.Store(true)
	s.etcd.Close()
	s.etcd = nil
	s.endpoints = nil
	return nil
}
