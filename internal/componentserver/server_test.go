package componentserver

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controlplane"
)

// TestDelegatedAuth runs the server with the scheduler's identity against
// a real API server: health is open, /metrics and pprof need a user the
// API server authenticates (client certificate or token) and authorizes.
func TestDelegatedAuth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: t.TempDir(), Port: 0, Logger: logger, EtcdUnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	admin, err := cp.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(admin)
	rc, err := clientcmd.BuildConfigFromFlags("", cp.SchedulerKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "componentserver_test_total", Help: "A counter the test finds."})
	reg.MustRegister(c)
	c.Inc()
	ready := make(chan struct{})
	srv, err := New(Config{Name: "test", Address: "127.0.0.1:0", RESTConfig: rc, Gatherer: reg, Ready: ready,
		AuthCacheTTL: time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	base := "https://" + srv.Addr()
	// The serving certificate is self-signed, as upstream's default.
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 30 * time.Second}
	adminTLS, err := rest.TLSConfigFor(admin)
	if err != nil {
		t.Fatal(err)
	}
	adminTLS.InsecureSkipVerify = true
	adminTLS.RootCAs = nil
	adminClient := &http.Client{Transport: &http.Transport{TLSClientConfig: adminTLS}, Timeout: 30 * time.Second}
	if len(adminTLS.Certificates) == 0 && adminTLS.GetClientCertificate == nil {
		t.Fatal("admin kubeconfig has no client certificate")
	}

	get := func(cl *http.Client, path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, _ := get(anon, "/readyz", ""); code != http.StatusInternalServerError {
		t.Errorf("/readyz before ready: %d, want 500", code)
	}
	close(ready)
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if code, body := get(anon, p, ""); code != http.StatusOK || body != "ok" {
			t.Errorf("anonymous %s: %d %q, want 200 ok", p, code, body)
		}
	}
	if code, body := get(anon, "/metrics", ""); code != http.StatusForbidden || !strings.Contains(body, `User \"system:anonymous\" cannot get path \"/metrics\"`) {
		t.Errorf("anonymous /metrics: %d %s, want 403", code, body)
	}
	if code, _ := get(anon, "/debug/pprof/", ""); code != http.StatusForbidden {
		t.Errorf("anonymous pprof: %d, want 403", code)
	}
	if code, _ := get(anon, "/metrics", "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("bad token /metrics: %d, want 401", code)
	}
	if code, body := get(adminClient, "/metrics", ""); code != http.StatusOK || !strings.Contains(body, "componentserver_test_total 1") {
		t.Errorf("admin /metrics: %d, want 200 with the counter; body %.200s", code, body)
	}
	if code, _ := get(adminClient, "/debug/pprof/", ""); code != http.StatusOK {
		t.Errorf("admin pprof: %d, want 200", code)
	}

	// A service account token: authenticated by TokenReview, forbidden
	// until RBAC grants system:monitoring.
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "scraper"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, "scraper", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token
	if code, body := get(anon, "/metrics", token); code != http.StatusForbidden || !strings.Contains(body, "system:serviceaccount:default:scraper") {
		t.Errorf("scraper before binding: %d %s, want 403", code, body)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "scraper-monitoring"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:monitoring"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: "default"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get(anon, "/metrics", token)
		if code == http.StatusOK && strings.Contains(body, "componentserver_test_total") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scraper after binding: %d, want 200", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
