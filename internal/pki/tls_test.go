package pki

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// whoami is a stand-in for the x509/token authenticators: it verifies the
// presented client certificate against pool (as the API server does after a
// RequestClientCert handshake) and echoes "CN|O1,O2", or the bearer token.
func whoami(pool *x509.CertPool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			fmt.Fprintf(w, "token:%s", tok)
			return
		}
		certs := r.TLS.PeerCertificates
		if len(certs) == 0 {
			http.Error(w, "no client certificate", http.StatusUnauthorized)
			return
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s|%s", certs[0].Subject.CommonName, strings.Join(certs[0].Subject.Organization, ","))
	})
}

// startServer serves whoami over TLS with b's serving certificate on
// loopback and returns its https URL.
func startServer(t *testing.T, b *Bundle) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(whoami(b.CAPool))
	srv.TLS = b.ServerTLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// get talks to the server through a kubeconfig, exactly as kubectl and
// client-go would load it.
func get(t *testing.T, kubeconfig, url string) (int, string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("http client from kubeconfig: %v", err)
	}
	hc.Timeout = 10 * time.Second
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func TestClientCertHandshake(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, Config{Dir: filepath.Join(dir, "pki"), Now: time.Now})
	url := startServer(t, b)

	alice, aliceKey, err := IssueClientCert(b, "alice", []string{"devs"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A CA the server does not trust: the handshake succeeds (certificates
	// are only requested) and the authenticator rejects the identity.
	other := ensure(t, Config{Dir: filepath.Join(dir, "other"), Now: time.Now})
	mallory, malloryKey, err := IssueClientCert(other, "mallory", []string{AdminGroup}, 0)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		cert, key  []byte
		wantStatus int
		wantBody   string
	}{
		{"admin", b.AdminCertPEM, b.AdminKeyPEM, http.StatusOK, "kubernetes-admin|system:masters"},
		{"alice in devs", alice, aliceKey, http.StatusOK, "alice|devs"},
		{"untrusted CA", mallory, malloryKey, http.StatusUnauthorized, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kc := filepath.Join(dir, "kube", tc.name, "config")
			if err := WriteKubeconfig(kc, url, b.CAPEM, tc.cert, tc.key, ""); err != nil {
				t.Fatal(err)
			}
			status, body := get(t, kc, url)
			if status != tc.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, body, tc.wantStatus)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("server saw %q, want %q", body, tc.wantBody)
			}
		})
	}
}

func TestServerTrustIsPinnedToCA(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, Config{Dir: filepath.Join(dir, "pki"), Now: time.Now})
	url := startServer(t, b)
	other := ensure(t, Config{Dir: filepath.Join(dir, "other"), Now: time.Now})

	kc := filepath.Join(dir, "config")
	if err := WriteKubeconfig(kc, url, other.CAPEM, b.AdminCertPEM, b.AdminKeyPEM, ""); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := hc.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("client trusting another CA connected, want a certificate error")
	}
}

func TestWriteKubeconfig(t *testing.T) {
	dir := t.TempDir()
	b := ensure(t, Config{Dir: filepath.Join(dir, "pki"), Now: time.Now})
	url := startServer(t, b)

	tests := []struct {
		name        string
		write       func(path string) error
		wantContext string
		wantBody    string
	}{
		{
			name: "client cert, default name",
			write: func(p string) error {
				return WriteKubeconfig(p, url, b.CAPEM, b.AdminCertPEM, b.AdminKeyPEM, "")
			},
			wantContext: "kplane",
			wantBody:    "kubernetes-admin|system:masters",
		},
		{
			name: "token, custom name",
			write: func(p string) error {
				return WriteTokenKubeconfig(p, url, b.CAPEM, "abc.def", "ci")
			},
			wantContext: "ci",
			wantBody:    "token:abc.def",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name, ".kube", "config")
			if err := tc.write(path); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("kubeconfig mode %v, want 0600", fi.Mode().Perm())
			}
			kc, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if kc.CurrentContext != tc.wantContext {
				t.Errorf("current-context %q, want %q", kc.CurrentContext, tc.wantContext)
			}
			ctx := kc.Contexts[tc.wantContext]
			if ctx == nil || ctx.Cluster != tc.wantContext || ctx.AuthInfo != tc.wantContext {
				t.Fatalf("context %q = %+v, want cluster and user %q", tc.wantContext, ctx, tc.wantContext)
			}
			cl := kc.Clusters[tc.wantContext]
			if cl.CertificateAuthority != "" || len(cl.CertificateAuthorityData) == 0 || cl.Server != url {
				t.Errorf("cluster = %+v, want embedded CA data and server %s", cl, url)
			}
			if u := kc.AuthInfos[tc.wantContext]; u.ClientCertificate != "" || u.ClientKey != "" {
				t.Errorf("user references files %q/%q, want embedded data", u.ClientCertificate, u.ClientKey)
			}
			if status, body := get(t, path, url); status != http.StatusOK || body != tc.wantBody {
				t.Errorf("GET = %d %q, want 200 %q", status, body, tc.wantBody)
			}
		})
	}
}

func TestIssueClientCertValidity(t *testing.T) {
	b := ensure(t, Config{Dir: t.TempDir()})
	tests := []struct {
		name    string
		cn      string
		dur     time.Duration
		want    time.Duration
		wantErr bool
	}{
		{"explicit", "alice", time.Hour, time.Hour, false},
		{"zero means a year", "bob", 0, LeafValidity, false},
		{"capped at CA expiry", "carol", 20 * CAValidity, CAValidity, false},
		{"empty name", "", time.Hour, 0, true},
		{"negative", "dave", -time.Hour, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, _, err := IssueClientCert(b, tc.cn, nil, tc.dur)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			c, err := parseCert(certPEM)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.NotAfter.Sub(epoch); got != tc.want {
				t.Errorf("valid for %v after now, want %v", got, tc.want)
			}
		})
	}
}
