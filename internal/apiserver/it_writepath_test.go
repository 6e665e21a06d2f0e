package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"kplane/internal/controlplane"
)

// TestWritesFromWatchCache: updates, bindings, patches and deletes start
// from the watch cache's copy of the object; their results and errors are
// those of etcd's object, and the cache's objects (which watchers resuming
// from the window are served) are not modified by them. The same checks
// run with the cache disabled.
func TestWritesFromWatchCache(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "cache", true: "etcd"}[disabled], func(t *testing.T) {
			testWritesFromCache(t, disabled)
		})
	}
}

func testWritesFromCache(t *testing.T, disableCache bool) {
	cp := startControlPlane(t, controlplane.Config{DisableWatchCache: disableCache})
	cs, _ := adminClientset(t, cp)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "wp"
	createNamespace(t, cs, ns)
	pods := cs.CoreV1().Pods(ns)
	before, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created, err := pods.Create(ctx, testPod("a"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// Binding: once, then 409 for a second binding.
	bind := func(node string) error {
		return pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: created.UID},
			Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
	}
	if err := bind("n1"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := bind("n2"); !apierrors.IsConflict(err) {
		t.Fatalf("second bind: %v, want 409 Conflict", err)
	}
	bound, err := pods.Get(ctx, "a", metav1.GetOptions{})
	if err != nil || bound.Spec.NodeName != "n1" {
		t.Fatalf("after bind: node %q, %v", bound.Spec.NodeName, err)
	}

	// A watcher resuming from before the create is served the cache's
	// window: it must see the pod as created, unbound, then the binding.
	w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: before.ResourceVersion, FieldSelector: "metadata.name=a"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	next := func() (watch.EventType, *corev1.Pod) {
		t.Helper()
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("watch event %s %T", ev.Type, ev.Object)
			}
			return ev.Type, p
		case <-ctx.Done():
			t.Fatal("no watch event")
		}
		return "", nil
	}
	if typ, p := next(); typ != watch.Added || p.Spec.NodeName != "" || p.ResourceVersion != created.ResourceVersion {
		t.Errorf("first event: %s node %q rv %s, want ADDED unbound at %s", typ, p.Spec.NodeName, p.ResourceVersion, created.ResourceVersion)
	}
	if typ, p := next(); typ != watch.Modified || p.Spec.NodeName != "n1" || p.ResourceVersion != bound.ResourceVersion {
		t.Errorf("second event: %s node %q rv %s, want MODIFIED bound at %s", typ, p.Spec.NodeName, p.ResourceVersion, bound.ResourceVersion)
	}

	// Update with a stale resourceVersion: 409; with the current one: ok.
	stale := created.DeepCopy()
	stale.Labels = map[string]string{"x": "1"}
	if _, err := pods.Update(ctx, stale, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("update with a stale resourceVersion: %v, want 409 Conflict", err)
	}
	cur := bound.DeepCopy()
	cur.Labels = map[string]string{"x": "1"}
	updated, err := pods.Update(ctx, cur, metav1.UpdateOptions{})
	if err != nil || updated.ResourceVersion == bound.ResourceVersion {
		t.Fatalf("update: %v (rv %s)", err, updated.ResourceVersion)
	}

	// A no-op update writes nothing and keeps the resourceVersion, also
	// right after a write the cache may not have seen yet.
	again, err := pods.Update(ctx, updated, metav1.UpdateOptions{})
	if err != nil || again.ResourceVersion != updated.ResourceVersion {
		t.Errorf("no-op update: %v, rv %s, want %s", err, again.ResourceVersion, updated.ResourceVersion)
	}

	// Dry run changes nothing.
	dry := updated.DeepCopy()
	dry.Labels["x"] = "dry"
	if _, err := pods.Update(ctx, dry, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("dry-run update: %v", err)
	}

	// Status patch with the uid precondition, as a kubelet sends it.
	patch := []byte(`{"metadata":{"uid":"` + string(created.UID) + `"},"status":{"phase":"Running"}}`)
	patched, err := pods.Patch(ctx, "a", types.MergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil || patched.Status.Phase != corev1.PodRunning || patched.Labels["x"] != "1" {
		t.Fatalf("status patch: %v (phase %s labels %v)", err, patched.Status.Phase, patched.Labels)
	}
	wrongUID := []byte(`{"metadata":{"uid":"00000000-0000-0000-0000-000000000000"},"status":{"phase":"Failed"}}`)
	if _, err := pods.Patch(ctx, "a", types.MergePatchType, wrongUID, metav1.PatchOptions{}, "status"); !apierrors.IsConflict(err) {
		t.Errorf("status patch with another uid: %v, want 409 Conflict", err)
	}

	got, err := pods.Get(ctx, "a", metav1.GetOptions{})
	if err != nil || got.ResourceVersion != patched.ResourceVersion || got.Labels["x"] != "1" || got.Status.Phase != corev1.PodRunning {
		t.Fatalf("final pod: %v rv %s labels %v phase %s", err, got.ResourceVersion, got.Labels, got.Status.Phase)
	}

	// Deletes: a stale precondition is 409, then the delete works, then 404.
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &updated.ResourceVersion}}); !apierrors.IsConflict(err) {
		t.Errorf("delete with a stale resourceVersion precondition: %v, want 409 Conflict", err)
	}
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: new(int64),
		Preconditions: &metav1.Preconditions{ResourceVersion: &got.ResourceVersion}}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("second delete: %v, want 404", err)
	}
	if _, err := pods.Patch(ctx, "a", types.MergePatchType, patch, metav1.PatchOptions{}, "status"); !apierrors.IsNotFound(err) {
		t.Errorf("patch after delete: %v, want 404", err)
	}

	// The writes above that found the pod in the cache started from it.
	resp := do(t, httpClient(cp, adminCert(t, cp)), "GET", cp.URL()+"/metrics", nil, nil)
	hits := `apiserver_storage_cached_writes_total{operation="update",result="hit",type="Pod"}`
	if got := strings.Contains(string(resp.body), hits); got == disableCache {
		t.Errorf("/metrics has %s: %v, want %v", hits, got, !disableCache)
	}
}
