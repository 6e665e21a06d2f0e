package apiserver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/controlplane"
	"kplane/internal/pki"
)

// TestRBAC checks a user bound to the view ClusterRole in one namespace:
// what it may read there, upstream's 403 messages for everything else, a
// static-token user, and what anonymous requests may reach.
func TestRBAC(t *testing.T) {
	tokens := writeTokenFile(t, "bob-token,bob,uid-bob,\"team-b,other\"\n")
	cp := startControlPlane(t, controlplane.Config{TokenAuthFile: tokens})
	admin, adminCfg := adminClientset(t, cp)
	ctx := context.Background()
	for _, ns := range []string{"a", "b"} {
		createNamespace(t, admin, ns)
		if _, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create cm in %s: %v", ns, err)
		}
		if _, err := admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create secret in %s: %v", ns, err)
		}
	}
	if _, err := admin.CoreV1().Pods("a").Create(ctx, testPod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod: %v", err)
	}
	_, err := admin.RbacV1().RoleBindings("a").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-view"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create role binding: %v", err)
	}

	certPEM, keyPEM, err := pki.IssueClientCert(cp.Bundle, "alice", []string{"devs"}, time.Hour)
	if err != nil {
		t.Fatalf("issue alice cert: %v", err)
	}
	aliceCfg := rest.AnonymousClientConfig(adminCfg)
	aliceCfg.CertData, aliceCfg.KeyData = certPEM, keyPEM
	alice, err := kubernetes.NewForConfig(aliceCfg)
	if err != nil {
		t.Fatalf("alice client: %v", err)
	}
	// The authorizer learns about the binding through its informers.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, itTimeout, true, func(ctx context.Context) (bool, error) {
		_, err := alice.CoreV1().Pods("a").List(ctx, metav1.ListOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("alice never got list pods in a: %v", err)
	}

	t.Run("allowed", func(t *testing.T) {
		for name, call := range map[string]func() error{
			"get pod":        func() error { _, err := alice.CoreV1().Pods("a").Get(ctx, "p", metav1.GetOptions{}); return err },
			"list pods":      func() error { _, err := alice.CoreV1().Pods("a").List(ctx, metav1.ListOptions{}); return err },
			"get configmap":  func() error { _, err := alice.CoreV1().ConfigMaps("a").Get(ctx, "cm", metav1.GetOptions{}); return err },
			"list configmap": func() error { _, err := alice.CoreV1().ConfigMaps("a").List(ctx, metav1.ListOptions{}); return err },
			"watch pods": func() error {
				w, err := alice.CoreV1().Pods("a").Watch(ctx, metav1.ListOptions{})
				if err != nil {
					return err
				}
				defer w.Stop()
				if ev := <-w.ResultChan(); ev.Type != "ADDED" {
					t.Errorf("alice's pod watch: first event %s %T, want ADDED", ev.Type, ev.Object)
				}
				return nil
			},
			"watch configmaps": func() error {
				w, err := alice.CoreV1().ConfigMaps("a").Watch(ctx, metav1.ListOptions{})
				if err == nil {
					w.Stop()
				}
				return err
			},
		} {
			if err := call(); err != nil {
				t.Errorf("%s in a: %v", name, err)
			}
		}
	})

	t.Run("forbidden", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			call func() error
			msg  string
		}{
			{name: "list pods in b", call: func() error { _, err := alice.CoreV1().Pods("b").List(ctx, metav1.ListOptions{}); return err },
				msg: `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "b"`},
			{name: "list pods cluster-wide", call: func() error { _, err := alice.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); return err },
				msg: `pods is forbidden: User "alice" cannot list resource "pods" in API group "" at the cluster scope`},
			{name: "create pod in a", call: func() error {
				_, err := alice.CoreV1().Pods("a").Create(ctx, testPod("q"), metav1.CreateOptions{})
				return err
			},
				msg: `pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "a"`},
			{name: "get secret in a", call: func() error { _, err := alice.CoreV1().Secrets("a").Get(ctx, "s", metav1.GetOptions{}); return err },
				msg: `secrets "s" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "a"`},
			{name: "list secrets in a", call: func() error { _, err := alice.CoreV1().Secrets("a").List(ctx, metav1.ListOptions{}); return err },
				msg: `secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "a"`},
			{name: "delete configmap in a", call: func() error { return alice.CoreV1().ConfigMaps("a").Delete(ctx, "cm", metav1.DeleteOptions{}) },
				msg: `configmaps "cm" is forbidden: User "alice" cannot delete resource "configmaps" in API group "" in the namespace "a"`},
			{name: "list nodes", call: func() error { _, err := alice.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); return err },
				msg: `nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope`},
			{name: "list deployments in b", call: func() error { _, err := alice.AppsV1().Deployments("b").List(ctx, metav1.ListOptions{}); return err },
				msg: `deployments.apps is forbidden: User "alice" cannot list resource "deployments" in API group "apps" in the namespace "b"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				if !apierrors.IsForbidden(err) {
					t.Fatalf("got %v, want 403 Forbidden", err)
				}
				if err.Error() != tc.msg {
					t.Fatalf("message:\n got %s\nwant %s", err.Error(), tc.msg)
				}
			})
		}
	})

	t.Run("static token", func(t *testing.T) {
		c := httpClient(cp)
		bearer := map[string]string{"Authorization": "Bearer bob-token"}
		if r := do(t, c, http.MethodGet, cp.URL()+"/api", nil, bearer); r.code != http.StatusOK {
			t.Fatalf("bob GET /api: %d %s (authenticated users may discover)", r.code, r.body)
		}
		r := do(t, c, http.MethodGet, cp.URL()+"/api/v1/namespaces/a/pods", nil, bearer)
		want := `pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "a"`
		if st := r.status(); r.code != http.StatusForbidden || st.Message != want {
			t.Fatalf("bob list pods: %d %q, want 403 %q", r.code, st.Message, want)
		}
		// A binding to one of bob's groups from the token file lets him in.
		_, err := admin.RbacV1().RoleBindings("a").Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "team-b-view"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "team-b"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("bind team-b: %v", err)
		}
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, itTimeout, true, func(context.Context) (bool, error) {
			return do(t, c, http.MethodGet, cp.URL()+"/api/v1/namespaces/a/pods", nil, bearer).code == http.StatusOK, nil
		})
		if err != nil {
			t.Fatalf("bob (group team-b) never got list pods in a: %v", err)
		}
		if r := do(t, c, http.MethodGet, cp.URL()+"/api", nil, map[string]string{"Authorization": "Bearer wrong"}); r.code != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d, want 401", r.code)
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		c := httpClient(cp)
		for _, path := range []string{"/healthz", "/livez", "/readyz", "/version"} {
			if r := do(t, c, http.MethodGet, cp.URL()+path, nil, nil); r.code != http.StatusOK {
				t.Errorf("anonymous GET %s: %d %s, want 200", path, r.code, r.body)
			}
		}
		for _, path := range []string{"/api", "/apis", "/api/v1/namespaces/a/pods", "/metrics"} {
			r := do(t, c, http.MethodGet, cp.URL()+path, nil, nil)
			if st := r.status(); r.code != http.StatusUnauthorized || st.Reason != metav1.StatusReasonUnauthorized {
				t.Errorf("anonymous GET %s: %d %s, want 401 Unauthorized", path, r.code, st.Reason)
			}
		}
	})
}
