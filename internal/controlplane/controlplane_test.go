package controlplane

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/etcd"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func clientFor(t *testing.T, cp *ControlPlane) kubernetes.Interface {
	t.Helper()
	cfg, err := cp.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// copyPKI gives a second API server the first one's CA and keys, as an
// operator copies pki/ between hosts.
func copyPKI(t *testing.T, from, to string) {
	t.Helper()
	src := filepath.Join(from, "pki")
	dst := filepath.Join(to, "pki")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAPIServersShareExternalEtcd runs two API servers against one etcd
// (the --etcd-servers mode): a write through one is read, listed and
// watched through the other, and a stale update through the other gets a
// conflict.
func TestAPIServersShareExternalEtcd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ec, err := etcd.New(etcd.Config{DataDir: t.TempDir(), Logger: quietLogger(), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := ec.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer ec.Close()

	dirA, dirB := t.TempDir(), t.TempDir()
	a, err := Start(ctx, Config{DataDir: dirA, Port: 0, EtcdServers: ec.Endpoints(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("start A: %v", err)
	}
	defer a.Stop()
	copyPKI(t, dirA, dirB)
	b, err := Start(ctx, Config{DataDir: dirB, Port: 0, EtcdServers: ec.Endpoints(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("start B: %v", err)
	}
	defer b.Stop()
	if a.URL() == b.URL() {
		t.Fatalf("both servers at %s", a.URL())
	}
	ca, cb := clientFor(t, a), clientFor(t, b)

	w, err := cb.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("watch through B: %v", err)
	}
	defer w.Stop()

	created, err := ca.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Data: map[string]string{"k": "v1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create through A: %v", err)
	}
	got, err := cb.CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get through B: %v", err)
	}
	if got.ResourceVersion != created.ResourceVersion || got.UID != created.UID || got.Data["k"] != "v1" {
		t.Fatalf("B sees %s/%s %v, A created %s/%s", got.UID, got.ResourceVersion, got.Data, created.UID, created.ResourceVersion)
	}
	for {
		select {
		case ev := <-w.ResultChan():
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if ev.Type != watch.Added || !ok || cm.Name != "shared" {
				continue
			}
			if cm.ResourceVersion != created.ResourceVersion {
				t.Fatalf("watch through B: rv %s, want %s", cm.ResourceVersion, created.ResourceVersion)
			}
		case <-ctx.Done():
			t.Fatal("watch through B never saw the ConfigMap created through A")
		}
		break
	}
	// A's update makes B's copy stale: B's update must conflict.
	got.Data["k"] = "from-b"
	created.Data["k"] = "from-a"
	if _, err := ca.CoreV1().ConfigMaps("default").Update(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update through A: %v", err)
	}
	_, err = cb.CoreV1().ConfigMaps("default").Update(ctx, got, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("stale update through B: %v, want a conflict", err)
	}
	list, err := cb.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Data["k"] != "from-a" {
		t.Fatalf("list through B: %+v", list.Items)
	}
}
