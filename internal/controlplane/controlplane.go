package controlplane

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/apiserver"
	"kplane/internal/auth"
	"kplane/internal/etcd"
	"kplane/internal/pki"
)

// Config of a control plane. Zero values get the documented defaults.
type Config struct {
	// DataDir holds pki/, etcd/ and kubeconfig (required).
	DataDir string
	// BindAddress of the API server; default 127.0.0.1.
	BindAddress string
	// Port of the API server; default 6443; 0 picks a free port.
	Port int
	// EtcdServers, when set, are used instead of embedded etcd.
	EtcdServers []string
	// EtcdCAFile, EtcdCertFile, EtcdKeyFile are TLS options for EtcdServers.
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// TokenAuthFile is a static token CSV (upstream --token-auth-file).
	TokenAuthFile string
	// ExtraSANs are added to the serving certificate.
	ExtraSANs []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics is the registry the API server's /metrics serves; default a
	// new one. `kplane up` registers its in-process components here too, so
	// one endpoint shows the whole process.
	Metrics *prometheus.Registry
	// DisableUpdateManagedFields: see apiserver.Config.
	DisableUpdateManagedFields bool
	// DisableWatchCache: see apiserver.Config.
	DisableWatchCache bool
	// WatchWriteTimeout: see apiserver.Config (default 30s).
	WatchWriteTimeout time.Duration
	// EtcdUnsafeNoFsync trades durability for speed (tests only).
	EtcdUnsafeNoFsync bool
}

// ControlPlane is a started etcd + API server.
type ControlPlane struct {
	cfg        Config
	log        *slog.Logger
	Bundle     *pki.Bundle
	etcd       *etcd.Server
	client     *clientv3.Client
	Server     *apiserver.Server
	Kubeconfig string
	done       chan error
	cancel     context.CancelFunc
}

// Start brings everything up and returns once the API server is ready.
func Start(ctx context.Context, cfg Config) (*ControlPlane, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("controlplane: DataDir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BindAddress == "" {
		cfg.BindAddress = "127.0.0.1"
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cp := &ControlPlane{cfg: cfg, log: cfg.Logger, done: make(chan error, 1)}
	ok := false
	defer func() {
		if !ok {
			cp.closeStorage()
		}
	}()
	hosts := append(pki.DefaultHosts(), cfg.ExtraSANs...)
	if cfg.BindAddress != "127.0.0.1" && cfg.BindAddress != "0.0.0.0" && cfg.BindAddress != "::" {
		hosts = append(hosts, cfg.BindAddress)
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	bundle, err := pki.Ensure(pki.Config{Dir: filepath.Join(cfg.DataDir, "pki"), Hosts: hosts, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	cp.Bundle = bundle
	if len(cfg.EtcdServers) == 0 {
		cp.etcd, err = etcd.New(etcd.Config{DataDir: filepath.Join(cfg.DataDir, "etcd"), Logger: cfg.Logger, UnsafeNoFsync: cfg.EtcdUnsafeNoFsync})
		if err != nil {
			return nil, fmt.Errorf("etcd: %w", err)
		}
		if err := cp.etcd.Start(ctx); err != nil {
			return nil, fmt.Errorf("etcd: %w", err)
		}
		if cp.client, err = cp.etcd.Client(); err != nil {
			return nil, fmt.Errorf("etcd client: %w", err)
		}
	} else {
		tlsCfg, err := etcd.ClientTLSConfig(cfg.EtcdCAFile, cfg.EtcdCertFile, cfg.EtcdKeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		if cp.client, err = etcd.NewClient(ctx, cfg.EtcdServers, tlsCfg); err != nil {
			return nil, fmt.Errorf("etcd client: %w", err)
		}
	}
	if err := registerProcessMetrics(cfg.Metrics, cp.client); err != nil {
		return nil, err
	}
	var authns []auth.Authenticator
	if cfg.TokenAuthFile != "" {
		tokens, err := auth.NewTokenFile(cfg.TokenAuthFile)
		if err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
		authns = append(authns, tokens)
	}
	port := cfg.Port
	srv, err := apiserver.New(apiserver.Config{
		BindAddress: cfg.BindAddress, Port: port, ServingCert: bundle.ServingCert, ClientCA: bundle.CAPool,
		Etcd: cp.client, Authenticators: authns, Logger: cfg.Logger, Metrics: cfg.Metrics,
		ServiceAccountKeys: []crypto.PublicKey{bundle.ServiceAccountPublicKey}, ServiceAccountSigner: bundle.ServiceAccountKey,
		DisableUpdateManagedFields: cfg.DisableUpdateManagedFields,
		DisableWatchCache:          cfg.DisableWatchCache,
		WatchWriteTimeout:          cfg.WatchWriteTimeout,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	cp.Server = srv
	cp.Kubeconfig = filepath.Join(cfg.DataDir, "kubeconfig")
	if err := pki.WriteKubeconfig(cp.Kubeconfig, cp.URL(), bundle.CAPEM, bundle.AdminCertPEM, bundle.AdminKeyPEM, ""); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	for _, c := range components {
		if err := cp.writeComponentKubeconfig(c.file, c.user); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	cp.cancel = cancel
	go func() { cp.done <- srv.Run(runCtx) }()
	select {
	case <-srv.Ready():
	case err := <-cp.done:
		cancel()
		if err == nil {
			err = errors.New("API server stopped during start-up")
		}
		return nil, err
	case <-ctx.Done():
		cancel()
		<-cp.done
		return nil, ctx.Err()
	}
	ok = true
	return cp, nil
}

// URL is the API server's https URL.
func (cp *ControlPlane) URL() string {
	host, port, _ := net.SplitHostPort(cp.Server.Addr())
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	p, _ := strconv.Atoi(port)
	if strings.Contains(host, ":") {
		return fmt.Sprintf("https://[%s]:%d", host, p)
	}
	return fmt.Sprintf("https://%s:%d", host, p)
}

// AdminConfig is a client config with the admin credentials.
func (cp *ControlPlane) AdminConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
}

// EtcdClient is the storage client, for tests that read or compact etcd
// directly. It is closed by Stop.
func (cp *ControlPlane) EtcdClient() *clientv3.Client { return cp.client }

// Done reports the API server's exit.
func (cp *ControlPlane) Done() <-chan error { return cp.done }

// Stop shuts the API server down, then etcd.
func (cp *ControlPlane) Stop() error {
	cp.cancel()
	var err error
	select {
	case err = <-cp.done:
	case <-time.After(10 * time.Second):
		err = errors.New("API server did not stop in 10s")
	}
	cp.closeStorage()
	return err
}

func (cp *ControlPlane) closeStorage() {
	if cp.client != nil {
		_ = cp.client.Close()
	}
	if cp.etcd != nil {
		_ = cp.etcd.Close()
	}
}

// components get their own identity and kubeconfig, as upstream's
// kube-controller-manager and kube-scheduler do; RBAC's bootstrap policy
// grants these users their roles.
var components = []struct{ file, user string }{
	{"controller-manager.kubeconfig", "system:kube-controller-manager"},
	{"scheduler.kubeconfig", "system:kube-scheduler"},
}

// ControllerManagerKubeconfig is the path of the controller manager's
// kubeconfig (user system:kube-controller-manager).
func (cp *ControlPlane) ControllerManagerKubeconfig() string {
	return filepath.Join(cp.cfg.DataDir, "controller-manager.kubeconfig")
}

// SchedulerKubeconfig is the path of the scheduler's kubeconfig (user
// system:kube-scheduler).
func (cp *ControlPlane) SchedulerKubeconfig() string {
	return filepath.Join(cp.cfg.DataDir, "scheduler.kubeconfig")
}

// writeComponentKubeconfig issues a client certificate for user and writes
// a kubeconfig (0600) for it next to the admin's.
func (cp *ControlPlane) writeComponentKubeconfig(file, user string) error {
	certPEM, keyPEM, err := pki.IssueClientCert(cp.Bundle, user, nil, 0)
	if err != nil {
		return fmt.Errorf("certificate for %s: %w", user, err)
	}
	if err := pki.WriteKubeconfig(filepath.Join(cp.cfg.DataDir, file), cp.URL(), cp.Bundle.CAPEM, certPEM, keyPEM, ""); err != nil {
		return fmt.Errorf("kubeconfig for %s: %w", user, err)
	}
	return nil
}

// Metrics is the registry served at the API server's /metrics.
func (cp *ControlPlane) Metrics() *prometheus.Registry { return cp.cfg.Metrics }
