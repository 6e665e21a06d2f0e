package apiserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/controlplane"
	"kplane/internal/pki"
)

// itTimeout bounds every wait in these tests; generous because the CI
// machine is small and shared.
const itTimeout = 60 * time.Second

// startControlPlane starts an in-process etcd + API server in a fresh data
// directory (or cfg.DataDir when set) and stops it when the test ends.
func startControlPlane(t testing.TB, cfg controlplane.Config) *controlplane.ControlPlane {
	t.Helper()
	cp, _ := startStoppable(t, cfg)
	return cp
}

// startStoppable is startControlPlane plus an idempotent stop function for
// tests that restart the control plane.
func startStoppable(t testing.TB, cfg controlplane.Config) (*controlplane.ControlPlane, func()) {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.EtcdUnsafeNoFsync = true
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	cp, err := controlplane.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := cp.Stop(); err != nil {
				t.Errorf("stop control plane: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return cp, stop
}

// adminClientset is a typed client with the admin credentials.
func adminClientset(t testing.TB, cp *controlplane.ControlPlane) (*kubernetes.Clientset, *rest.Config) {
	t.Helper()
	cfg, err := cp.AdminConfig()
	if err != nil {
		t.Fatalf("admin config: %v", err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs, cfg
}

// userCert issues a client certificate for user in groups.
func userCert(t testing.TB, cp *controlplane.ControlPlane, user string, groups []string) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := pki.IssueClientCert(cp.Bundle, user, groups, time.Hour)
	if err != nil {
		t.Fatalf("issue cert for %s: %v", user, err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("key pair for %s: %v", user, err)
	}
	return c
}

// adminCert is the admin client certificate of the kubeconfig.
func adminCert(t testing.TB, cp *controlplane.ControlPlane) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(cp.Bundle.AdminCertPEM, cp.Bundle.AdminKeyPEM)
	if err != nil {
		t.Fatalf("admin key pair: %v", err)
	}
	return c
}

// httpClient is a raw HTTPS client trusting the cluster CA and presenting
// certs (none means anonymous unless a token header is added).
func httpClient(cp *controlplane.ControlPlane, certs ...tls.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cp.Bundle.CAPEM)
	return &http.Client{
		Timeout: itTimeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12,
		}},
	}
}

// rawResponse is what one raw request returned.
type rawResponse struct {
	code   int
	body   []byte
	header http.Header
}

// status decodes the body as a metav1.Status (zero Status when it is not).
func (r rawResponse) status() metav1.Status {
	var st metav1.Status
	_ = json.Unmarshal(r.body, &st)
	return st
}

// do sends one request and reads the whole answer.
func do(t testing.TB, c *http.Client, method, url string, body []byte, header map[string]string) rawResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s %s: %v", method, url, err)
	}
	return rawResponse{code: resp.StatusCode, body: data, header: resp.Header}
}

// writeTokenFile writes an upstream static-token CSV and returns its path.
func writeTokenFile(t testing.TB, lines string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(p, []byte(lines), 0o600); err != nil {
		t.Fatalf("write token file: %v", err)
	}
	return p
}
