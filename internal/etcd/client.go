package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Client tuning, matching what kube-apiserver uses for its etcd clients.
const (
	dialTimeout          = 20 * time.Second
	dialKeepAliveTime    = 30 * time.Second
	dialKeepAliveTimeout = 10 * time.Second
	// healthKey is read (it need not exist) to prove the cluster answers;
	// the same probe kube-apiserver and etcdctl use.
	healthKey = "health"
)

// NewClient connects to an etcd cluster (embedded or external) and waits,
// bounded by ctx, until one endpoint answers a read. ctx does not bound the
// client's lifetime; the caller must Close the client. tlsCfg nil means
// plaintext for http endpoints and system roots for https ones. Client
// warnings go to slog.Default().
func NewClient(ctx context.Context, endpoints []string, tlsCfg *tls.Config) (*clientv3.Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	c, err := newClient(endpoints, tlsCfg, newZapLogger(slog.Default(), slog.LevelWarn, nil))
	if err != nil {
		return nil, err
	}
	if _, err := c.Get(ctx, healthKey, clientv3.WithSerializable(), clientv3.WithCountOnly()); err != nil &&
		!errors.Is(err, rpctypes.ErrPermissionDenied) {
		_ = c.Close()
		return nil, fmt.Errorf("etcd: probe %s: %w", strings.Join(endpoints, ","), err)
	}
	return c, nil
}

// newClient builds a client without probing it; clientv3.New dials lazily.
func newClient(endpoints []string, tlsCfg *tls.Config, lg *zap.Logger) (*clientv3.Client, error) {
	if tlsCfg == nil {
		for _, ep := range endpoints {
			if strings.HasPrefix(ep, "https://") || strings.HasPrefix(ep, "unixs://") {
				tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
				break
			}
		}
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		TLS:                  tlsCfg,
		DialTimeout:          dialTimeout,
		DialKeepAliveTime:    dialKeepAliveTime,
		DialKeepAliveTimeout: dialKeepAliveTimeout,
		Logger:               lg,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: new client for %s: %w", strings.Join(endpoints, ","), err)
	}
	return c, nil
}

// ClientTLSConfig builds the TLS config for --etcd-cafile, --etcd-certfile
// and --etcd-keyfile. Any may be empty: no caFile means system roots; cert
// and key must be given together. All three empty returns (nil, nil), which
// NewClient treats as plaintext for http:// endpoints.
func ClientTLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("etcd: client cert and key must be given together (cert %q, key %q)", certFile, keyFile)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("etcd: CA file %s contains no PEM certificates", caFile)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: load client key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
