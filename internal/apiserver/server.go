package apiserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"kplane/internal/auth"
	"kplane/internal/cacher"
	"kplane/internal/printers"
	"kplane/internal/registry"
	"kplane/internal/storage"
	"kplane/internal/usage"
)

// Config configures an API server. Zero values get the documented defaults.
type Config struct {
	// BindAddress is the listen address; default "127.0.0.1".
	BindAddress string
	// Port is the HTTPS port; default 6443, 0 picks a free port.
	Port int
	// Listener, when set, is used instead of BindAddress/Port.
	Listener net.Listener
	// ServingCert is the TLS certificate of the server (required).
	ServingCert tls.Certificate
	// ClientCA verifies client certificates; nil disables x509 auth.
	ClientCA *x509.CertPool
	// Etcd is the storage client (required).
	Etcd *clientv3.Client
	// Authenticators are tried in order after the server's own loopback
	// token authenticator.
	Authenticators []auth.Authenticator
	// ServiceAccountIssuer and ServiceAccountKeys verify service-account
	// tokens; no keys disables them. The issuer defaults to
	// https://kubernetes.default.svc.cluster.local.
	ServiceAccountIssuer string
	ServiceAccountKeys   []crypto.PublicKey
	// ServiceAccountSigner signs TokenRequest tokens; nil disables
	// serviceaccounts/<name>/token.
	ServiceAccountSigner crypto.Signer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics is the registry /metrics serves; default a new registry.
	Metrics *prometheus.Registry
	// MaxRequestsInFlight limits concurrent non-mutating requests (default
	// 400); MaxMutatingRequestsInFlight mutating ones (default 200). Long
	// running requests (watch) are not counted. Over the limit a request
	// queues (below); 429 when it cannot.
	MaxRequestsInFlight, MaxMutatingRequestsInFlight int
	// InFlightQueueLength bounds how many requests of each kind may wait
	// for a seat (default 2000); InFlightQueueWait how long each waits
	// (default 10s) before it gets 429 with Retry-After 1 s.
	InFlightQueueLength int
	InFlightQueueWait   time.Duration
	// MaxRequestBodyBytes caps request bodies; default 3 MiB (413 above).
	MaxRequestBodyBytes int64
	// Version is what /version reports; default the k8s.io/api version.
	Version string
	// DisableUpdateManagedFields stops recording managedFields for
	// non-apply writes (create, update, patch), which costs about a third of
	// a pod create or status update. Server-side apply keeps working but no
	// longer sees conflicts with fields written by plain updates. Default
	// false: upstream always records them.
	DisableUpdateManagedFields bool
	// DisableAuthorization allows every authenticated request (tests only).
	DisableAuthorization bool
	// DisableWatchCache serves lists and watches straight from etcd (one
	// etcd request or watch each) instead of from the per-resource watch
	// caches (package cacher), e.g. to compare the two. Default false: the
	// caches serve them, as upstream.
	DisableWatchCache bool
	// WatchWriteTimeout bounds how long one write or flush of watch events
	// may block on a client that stopped reading, e.g. whose HTTP/2
	// flow-control window or TCP buffers are full (checked every
	// min(timeout/4, 1s)). When it expires the watch ends (the client
	// re-watches), its goroutine exits and its watcher leaves the watch
	// cache, instead of being pinned until the connection dies. On HTTP/2 it also closes connections on which no
	// byte could be written for as long (a client that stopped reading the
	// whole connection cannot even receive the stream reset). Default 30s;
	// negative disables both.
	WatchWriteTimeout time.Duration
	// Usage is the simulated usage model metrics.k8s.io serves; nil is
	// usage.Default().
	Usage *usage.Model
}

func (c *Config) setDefaults() {
	if c.BindAddress == "" {
		c.BindAddress = "127.0.0.1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.MaxRequestsInFlight == 0 {
		c.MaxRequestsInFlight = 400
	}
	if c.MaxMutatingRequestsInFlight == 0 {
		c.MaxMutatingRequestsInFlight = 200
	}
	if c.InFlightQueueLength == 0 {
		c.InFlightQueueLength = 2000
	}
	if c.InFlightQueueWait == 0 {
		c.InFlightQueueWait = 10 * time.Second
	}
	if c.MaxRequestBodyBytes == 0 {
		c.MaxRequestBodyBytes = 3 << 20
	}
	if c.ServiceAccountIssuer == "" {
		c.ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
	}
	if c.Version == "" {
		c.Version = "v1.37.2"
	}
	if c.Usage == nil {
		c.Usage = usage.Default()
	}
	if c.WatchWriteTimeout == 0 {
		c.WatchWriteTimeout = defaultWatchWriteTimeout
	}
}

// Validate reports every missing or inconsistent setting at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Etcd == nil {
		errs = append(errs, errors.New("etcd client is required"))
	}
	if len(c.ServingCert.Certificate) == 0 {
		errs = append(errs, errors.New("serving certificate is required"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", c.Port))
	}
	return errors.Join(errs...)
}

// Server is a running API server.
type Server struct {
	cfg            Config
	log            *slog.Logger
	scheme         *runtime.Scheme
	codecs         serializer.CodecFactory
	jsonSerializer *json.Serializer
	store          *storage.Store
	adm            *registry.Admission
	// resources by "group/version/resource"; storage REST shared between
	// versions of one storage resource.
	resources   map[string]*served
	groups      []groupInfo
	buffers     bufferPool
	allocators  sync.Pool // *runtime.Allocator for protobuf encoding
	gzipWriters gzipPool
	metrics     *metrics
	// caches are the watch caches by storage path, run by Run.
	caches map[string]*cacher.Cacher
	// stalls ends watch writes blocked beyond WatchWriteTimeout (nil when
	// disabled); its sweeper is run by Run.
	stalls *stallCutter

	authn        auth.Authenticator
	authz        atomic.Pointer[authorizerRef] // set once RBAC has synced; read by every request
	rbacSynced   atomic.Bool
	ruleResolver atomic.Value // auth.RuleResolver once RBAC has synced
	tokens       *auth.TokenIssuer

	loopbackToken string
	listener      net.Listener
	ready         chan struct{}
	readyOnce     sync.Once
	discovery     *discoveryDocs
	openapi       http.Handler
	openapiV3     http.Handler
}

// served is one served group/version/resource with its REST.
type served struct {
	res     *registry.Resource
	rest    *registry.REST
	printer atomic.Pointer[printers.Printer]
	// create answers virtual create-only resources (reviews); rest is nil.
	create createFunc
	// fields tracks managedFields and serves apply; nil when the kind has
	// no schema (see fieldmanager.go).
	fields *fieldManagers
}

// groupInfo is one API group with its versions, preferred first.
type groupInfo struct {
	name     string
	versions []string
}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() *bytes.Buffer {
	if v := b.p.Get(); v != nil {
		buf := v.(*bytes.Buffer)
		buf.Reset()
		return buf
	}
	return new(bytes.Buffer)
}

// maxPooledBuffer bounds what the pool keeps: list responses of a few
// thousand pods are several MiB and would otherwise regrow every time.
const maxPooledBuffer = 16 << 20

func (b *bufferPool) Put(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		b.p.Put(buf)
	}
}

// NewScheme registers every type kplane serves plus meta.k8s.io.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register types: %w", err)
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	if err := metav1.AddMetaToScheme(s); err != nil {
		return nil, fmt.Errorf("register meta types: %w", err)
	}
	if err := metricsv1beta1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register metrics types: %w", err)
	}
	return s, nil
}

// New builds a server; Run serves it.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("apiserver config: %w", err)
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:            cfg,
		log:            cfg.Logger,
		scheme:         scheme,
		codecs:         serializer.NewCodecFactory(scheme),
		jsonSerializer: json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{}),
		resources:      map[string]*served{},
		ready:          make(chan struct{}),
	}
	s.metrics = newMetrics(cfg.Metrics)
	if cfg.WatchWriteTimeout > 0 {
		s.stalls = newStallCutter(cfg.WatchWriteTimeout)
	}
	s.store = storage.New(cfg.Etcd, storage.NewCodec(scheme), storage.NewMetrics(cfg.Metrics))
	s.adm = registry.NewAdmission(s.store)
	rests := map[string]*registry.REST{}
	groupSeen := map[string]int{}
	s.caches = map[string]*cacher.Cacher{}
	var cacheMetrics *cacher.Metrics
	if !cfg.DisableWatchCache {
		cacheMetrics = cacher.NewMetrics(cfg.Metrics)
	}
	for _, res := range registry.All() {
		key := res.StoragePath
		rest, ok := rests[key]
		if !ok || rest.Res.Group != res.Group || rest.Res.Version != res.Version {
			rest = registry.NewREST(res, s.store, s.adm)
			if !ok {
				rests[key] = rest
			}
			if !cfg.DisableWatchCache && res.HasVerb("watch") {
				if err := s.attachCache(rest, rests[key], cacheMetrics); err != nil {
					return nil, err
				}
			}
		}
		s.resources[res.Group+"/"+res.Version+"/"+res.Resource] = &served{res: res, rest: rest}
		i, ok := groupSeen[res.Group]
		if !ok {
			groupSeen[res.Group] = len(s.groups)
			s.groups = append(s.groups, groupInfo{name: res.Group, versions: []string{res.Version}})
			continue
		}
		if !contains(s.groups[i].versions, res.Version) {
			s.groups[i].versions = append(s.groups[i].versions, res.Version)
		}
	}
	for _, sv := range append(s.virtualResources(), s.metricsResources()...) {
		s.resources[sv.res.Group+"/"+sv.res.Version+"/"+sv.res.Resource] = sv
		i, ok := groupSeen[sv.res.Group]
		if !ok {
			groupSeen[sv.res.Group] = len(s.groups)
			s.groups = append(s.groups, groupInfo{name: sv.res.Group, versions: []string{sv.res.Version}})
		} else if !contains(s.groups[i].versions, sv.res.Version) {
			s.groups[i].versions = append(s.groups[i].versions, sv.res.Version)
		}
	}
	if err := s.buildFieldManagers(); err != nil {
		return nil, err
	}
	if cfg.ServiceAccountSigner != nil {
		issuer, err := auth.NewTokenIssuer(cfg.ServiceAccountIssuer, cfg.ServiceAccountSigner)
		if err != nil {
			return nil, fmt.Errorf("service account token issuer: %w", err)
		}
		s.tokens = issuer
	}
	s.loopbackToken = randomToken()
	authns := append([]auth.Authenticator{auth.NewStaticTokens(map[string]*auth.User{
		s.loopbackToken: {Name: "system:apiserver", UID: "kplane-loopback", Groups: []string{auth.GroupMasters}},
	})}, cfg.Authenticators...)
	if cfg.ClientCA != nil {
		authns = append(authns, auth.NewX509(cfg.ClientCA))
	}
	if len(cfg.ServiceAccountKeys) > 0 {
		authns = append(authns, auth.NewServiceAccountAuthenticator(cfg.ServiceAccountIssuer, nil, cfg.ServiceAccountKeys, s.serviceAccountUID))
	}
	s.authn = auth.NewUnion(authns...)
	if err := s.buildDiscovery(); err != nil {
		return nil, err
	}
	if err := s.buildOpenAPI(); err != nil {
		return nil, err
	}
	return s, nil
}

// attachCache gives rest the watch cache of its storage path, creating it
// from owner (the first REST of that path) when needed. A REST whose field
// selectors differ from the owner's keeps reading etcd.
func (s *Server) attachCache(rest, owner *registry.REST, m *cacher.Metrics) error {
	path := rest.Res.StoragePath
	c, ok := s.caches[path]
	if !ok {
		cfg := owner.CacheConfig()
		cfg.Store, cfg.Logger, cfg.Metrics = s.store, s.log, m
		var err error
		if c, err = cacher.New(cfg); err != nil {
			return fmt.Errorf("watch cache for %s: %w", path, err)
		}
		s.caches[path] = c
	}
	if rest == owner || rest.SharesFieldsWith(owner) {
		rest.SetCache(c)
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Addr is the address the server listens on, valid after Ready.
func (s *Server) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Ready is closed once the server accepts requests with RBAC in place.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// LoopbackToken is the token of the server's own privileged client.
func (s *Server) LoopbackToken() string { return s.loopbackToken }

// Listen opens the listener so Addr is known before Run.
func (s *Server) Listen() error {
	if s.listener != nil {
		return nil
	}
	if s.cfg.Listener != nil {
		s.listener = s.cfg.Listener
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.listener = ln
	return nil
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{s.cfg.ServingCert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if s.cfg.ClientCA != nil {
		tlsCfg.ClientCAs = s.cfg.ClientCA
		tlsCfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	// Requests run under baseCtx, which is cancelled shortly after
	// shutdown begins so long-running watches end instead of holding it up.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.cfg.WatchWriteTimeout > 0 {
		// Per-stream write deadlines (watch.go) cannot help when the whole
		// connection is stuck: the stream reset itself cannot be written.
		srv.HTTP2 = &http.HTTP2Config{WriteByteTimeout: s.cfg.WatchWriteTimeout}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(s.listener, tlsCfg)) }()
	go s.adm.Run(ctx)
	go s.countObjects(ctx)
	var caches sync.WaitGroup
	defer caches.Wait()
	for _, c := range s.caches {
		caches.Go(func() { _ = c.Run(ctx) })
	}
	if s.stalls != nil {
		caches.Go(func() { s.stalls.run(ctx) })
	}
	if err := s.bootstrap(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("bootstrap: %w", err)
	}
	if err := s.startAuthorizer(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("authorizer: %w", err)
	}
	s.readyOnce.Do(func() { close(s.ready) })
	s.log.Info("API server ready", "address", s.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	}
	shutdownCtx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer c2()
	stopWatches := time.AfterFunc(time.Second, cancelBase)
	defer stopWatches.Stop()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		_ = srv.Close()
	}
	return nil
}

// serviceAccountUID tells the token authenticator whether a service
// account still exists, and with which UID.
func (s *Server) serviceAccountUID(ctx context.Context, namespace, name string) (string, error) {
	obj, err := s.resources["/v1/serviceaccounts"].rest.Get(ctx, namespace, name)
	if err != nil {
		return "", err
	}
	acc, err := metaAccessor(obj)
	if err != nil {
		return "", err
	}
	return string(acc.GetUID()), nil
}
