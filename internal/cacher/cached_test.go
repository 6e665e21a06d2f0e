package cacher_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/cacher"
	"kplane/internal/storage"
)

// Writes that start from the watch cache's copy (storage.Cached) instead
// of reading etcd: these tests run a real cache over a real etcd and check
// the results against etcd, including when the copy is stale.

// countingStore is a second store over the same etcd whose etcd reads are
// counted through its metrics.
func countingStore(t *testing.T, base *storage.Store) (*storage.Store, func() uint64) {
	s, m := meteredStore(t, base)
	return s, func() uint64 { return m("etcd_request_duration_seconds", "operation", "get") }
}

// meteredStore is a second store over the same etcd with its own metrics:
// the returned function sums a metric's samples whose label has a value.
func meteredStore(t *testing.T, base *storage.Store) (*storage.Store, func(name, label, value string) uint64) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := storage.New(base.Client(), base.Codec(), storage.NewMetrics(reg))
	return s, func(name, label, value string) uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				if labelIs(m, label, value) {
					n += m.GetHistogram().GetSampleCount() + uint64(m.GetCounter().GetValue())
				}
			}
		}
		return n
	}
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// cachedAt waits until the cache holds ns/name at revision rv.
func cachedAt(t *testing.T, c *cacher.Cacher, ns, name string, rv int64) *storage.Cached {
	t.Helper()
	var got *storage.Cached
	waitUntil(t, "cache holds "+name+" at "+strconv.FormatInt(rv, 10), func() bool {
		got = c.Cached(ns, name)
		return got != nil && got.Rev == rv
	})
	return got
}

// etcdPod reads ns/name straight from etcd.
func etcdPod(t *testing.T, s *storage.Store, ns, name string) *corev1.Pod {
	t.Helper()
	obj, err := s.Get(context.Background(), podKey(ns, name), "Pod")
	if err != nil {
		t.Fatalf("etcd get %s/%s: %v", ns, name, err)
	}
	return obj.(*corev1.Pod)
}

func rvOf(obj runtime.Object) int64 {
	rv, _ := storage.ParseRV(obj.(*corev1.Pod).ResourceVersion)
	return rv
}

// relabel sets label k=v on the current pod in place (the store hands the
// update function an object it owns).
func relabel(k, v string) storage.UpdateFunc {
	return func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod)
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[k] = v
		return p, nil
	}
}

func TestUpdateFromCache(t *testing.T) {
	base := newStore(t)
	c := startCache(t, base, nil)
	s, metric := meteredStore(t, base)
	gets := func() uint64 { return metric("etcd_request_duration_seconds", "operation", "get") }
	ctx := context.Background()
	rv1 := create(t, base, pod("ns", "a", "n1", map[string]string{"app": "web"}))
	cached := cachedAt(t, c, "ns", "a", rv1)
	before, err := c.List(ctx, "ns", cacher.Selection{}, storage.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}

	var sawKind schema.GroupVersionKind
	out, created, err := s.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, cached, func(cur runtime.Object) (runtime.Object, error) {
		sawKind = cur.GetObjectKind().GroupVersionKind()
		return relabel("app", "db")(cur)
	})
	if err != nil || created {
		t.Fatalf("update from cache: created=%v err=%v", created, err)
	}
	if n := gets(); n != 0 {
		t.Errorf("update from a current cached copy read etcd %d times, want 0", n)
	}
	if n := metric("apiserver_storage_cached_writes_total", "result", "hit"); n != 1 {
		t.Errorf("cached write hits: %d, want 1", n)
	}
	if sawKind.Kind != "Pod" || sawKind.Version != "v1" {
		t.Errorf("update function saw kind %v, want v1 Pod as decoded from etcd", sawKind)
	}
	stored := etcdPod(t, base, "ns", "a")
	if stored.Labels["app"] != "db" || rvOf(stored) != rvOf(out) || rvOf(out) <= rv1 {
		t.Errorf("etcd holds app=%s at %d, update returned %d (was %d)", stored.Labels["app"], rvOf(stored), rvOf(out), rv1)
	}
	// The cache's objects are shared with lists and watchers: the update
	// must not have touched them.
	old := before.Items[0].(*corev1.Pod)
	if old.Labels["app"] != "web" || rvOf(old) != rv1 || !old.GetObjectKind().GroupVersionKind().Empty() {
		t.Errorf("list taken before the update now shows app=%s rv=%d kind=%v", old.Labels["app"], rvOf(old), old.GetObjectKind().GroupVersionKind())
	}
	if p := cached.Obj.(*corev1.Pod); p.Labels["app"] != "web" || rvOf(p) != rv1 {
		t.Errorf("cached copy was modified: app=%s rv=%d", p.Labels["app"], rvOf(p))
	}
	cachedAt(t, c, "ns", "a", rvOf(out))
}

func TestUpdateFromStaleCache(t *testing.T) {
	base := newStore(t)
	c := startCache(t, base, nil)
	s, metric := meteredStore(t, base)
	ctx := context.Background()
	rv1 := create(t, base, pod("ns", "a", "n1", map[string]string{"app": "web"}))
	stale := cachedAt(t, c, "ns", "a", rv1)
	// Another writer changes the pod behind the copy we hold.
	rv2 := update(t, base, "ns", "a", func(p *corev1.Pod) { p.Labels["tier"] = "front" })

	var seen []int64
	out, _, err := s.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, stale, func(cur runtime.Object) (runtime.Object, error) {
		seen = append(seen, rvOf(cur))
		return relabel("app", "db")(cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	if hit, st := metric("apiserver_storage_cached_writes_total", "result", "hit"), metric("apiserver_storage_cached_writes_total", "result", "stale"); hit != 0 || st != 1 {
		t.Errorf("cached writes: %d hit, %d stale; want 0, 1", hit, st)
	}
	if len(seen) != 2 || seen[0] != rv1 || seen[1] != rv2 {
		t.Errorf("update function saw revisions %v, want [%d %d] (stale copy, then etcd's)", seen, rv1, rv2)
	}
	stored := etcdPod(t, base, "ns", "a")
	if stored.Labels["app"] != "db" || stored.Labels["tier"] != "front" || rvOf(stored) != rvOf(out) {
		t.Errorf("etcd holds labels %v at %d, update returned %d: the other writer's change was lost", stored.Labels, rvOf(stored), rvOf(out))
	}

	t.Run("precondition decided on etcd", func(t *testing.T) {
		// A client sends the resourceVersion it read from etcd; the stale
		// copy must not turn that into a conflict.
		stale := c.Cached("ns", "a")
		want := rvOf(out)
		if stale == nil || stale.Rev > want {
			t.Skip("cache moved past the update")
		}
		rv3 := update(t, base, "ns", "a", func(p *corev1.Pod) { p.Labels["x"] = "1" })
		_, _, err := base.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, stale, func(cur runtime.Object) (runtime.Object, error) {
			if rvOf(cur) != rv3 {
				return nil, errors.New("conflict")
			}
			return relabel("y", "2")(cur)
		})
		if err != nil {
			t.Fatalf("update with etcd's resourceVersion from a stale copy: %v", err)
		}
		if p := etcdPod(t, base, "ns", "a"); p.Labels["x"] != "1" || p.Labels["y"] != "2" {
			t.Errorf("etcd holds labels %v", p.Labels)
		}
	})

	t.Run("deleted behind the copy", func(t *testing.T) {
		rv := create(t, base, pod("ns", "gone", "n1", nil))
		stale := cachedAt(t, c, "ns", "gone", rv)
		del(t, base, "ns", "gone")
		_, _, err := base.GuaranteedUpdateFrom(ctx, podKey("ns", "gone"), "Pod", false, stale, func(cur runtime.Object) (runtime.Object, error) {
			return relabel("app", "db")(cur)
		})
		if !storage.IsNotFound(err) {
			t.Errorf("update of a pod deleted behind the cache: %v, want not found", err)
		}
		if _, err := base.DeleteFrom(ctx, podKey("ns", "gone"), "Pod", stale, nil); !storage.IsNotFound(err) {
			t.Errorf("delete of a pod deleted behind the cache: %v, want not found", err)
		}
	})
}

// TestConcurrentUpdatesFromCache increments a counter from many writers,
// each starting from whatever the cache holds: no increment may be lost.
func TestConcurrentUpdatesFromCache(t *testing.T) {
	base := newStore(t)
	c := startCache(t, base, nil)
	ctx := context.Background()
	rv := create(t, base, pod("ns", "counter", "n1", map[string]string{"n": "0"}))
	cachedAt(t, c, "ns", "counter", rv)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				_, _, err := base.GuaranteedUpdateFrom(ctx, podKey("ns", "counter"), "Pod", false, c.Cached("ns", "counter"), func(cur runtime.Object) (runtime.Object, error) {
					p := cur.(*corev1.Pod)
					n, err := strconv.Atoi(p.Labels["n"])
					if err != nil {
						return nil, err
					}
					p.Labels["n"] = strconv.Itoa(n + 1)
					return p, nil
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := etcdPod(t, base, "ns", "counter").Labels["n"]; got != strconv.Itoa(writers*each) {
		t.Errorf("counter is %s after %d increments", got, writers*each)
	}
}

func TestNoopUpdateFromCache(t *testing.T) {
	base := newStore(t)
	c := startCache(t, base, nil)
	ctx := context.Background()
	rv1 := create(t, base, pod("ns", "a", "n1", map[string]string{"app": "web"}))
	cached := cachedAt(t, c, "ns", "a", rv1)
	same := func(cur runtime.Object) (runtime.Object, error) { return cur, nil }

	out, _, err := base.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, cached, same)
	if err != nil {
		t.Fatal(err)
	}
	if got := rvOf(etcdPod(t, base, "ns", "a")); got != rv1 || rvOf(out) != rv1 {
		t.Errorf("no-op update: etcd at %d, returned %d, want both %d (nothing written)", got, rvOf(out), rv1)
	}

	// A no-op on a stale copy is a no-op on etcd's object, at its revision.
	rv2 := update(t, base, "ns", "a", func(p *corev1.Pod) { p.Labels["tier"] = "front" })
	out, _, err = base.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, cached, same)
	if err != nil {
		t.Fatal(err)
	}
	if got := rvOf(etcdPod(t, base, "ns", "a")); got != rv2 || rvOf(out) != rv2 {
		t.Errorf("no-op update from a stale copy: etcd at %d, returned %d, want both %d", got, rvOf(out), rv2)
	}

	// Writing back the stale copy's content looks like a no-op on the
	// copy but is a change on etcd's object: it must be written.
	staleContent := cached.Obj.(*corev1.Pod).DeepCopy()
	out, _, err = base.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, cached, func(cur runtime.Object) (runtime.Object, error) {
		p := staleContent.DeepCopy()
		p.ResourceVersion = cur.(*corev1.Pod).ResourceVersion
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stored := etcdPod(t, base, "ns", "a")
	if _, ok := stored.Labels["tier"]; ok || rvOf(stored) <= rv2 || rvOf(out) != rvOf(stored) {
		t.Errorf("reverting update: etcd holds %v at %d (was %d), returned %d", stored.Labels, rvOf(stored), rv2, rvOf(out))
	}
}

func TestDeleteFromCache(t *testing.T) {
	base := newStore(t)
	c := startCache(t, base, nil)
	s, gets := countingStore(t, base)
	ctx := context.Background()
	rv := create(t, base, pod("ns", "a", "n1", map[string]string{"app": "web"}))
	cached := cachedAt(t, c, "ns", "a", rv)
	out, err := s.DeleteFrom(ctx, podKey("ns", "a"), "Pod", cached, func(cur runtime.Object) error {
		if rvOf(cur) != rv {
			return errors.New("changed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := gets(); n != 0 {
		t.Errorf("delete from a current cached copy read etcd %d times, want 0", n)
	}
	if rvOf(out) <= rv || out.(*corev1.Pod).Labels["app"] != "web" {
		t.Errorf("delete returned rv %d labels %v", rvOf(out), out.(*corev1.Pod).Labels)
	}
	if rvOf(cached.Obj) != rv {
		t.Errorf("cached copy was stamped with the deletion's revision")
	}
	if _, err := base.Get(ctx, podKey("ns", "a"), "Pod"); !storage.IsNotFound(err) {
		t.Errorf("pod still in etcd: %v", err)
	}

	// A stale copy: the check sees etcd's object before anything is deleted.
	rv1 := create(t, base, pod("ns", "b", "n1", nil))
	stale := cachedAt(t, c, "ns", "b", rv1)
	rv2 := update(t, base, "ns", "b", func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })
	var seen []int64
	out, err = base.DeleteFrom(ctx, podKey("ns", "b"), "Pod", stale, func(cur runtime.Object) error {
		seen = append(seen, rvOf(cur))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[1] != rv2 || out.(*corev1.Pod).Labels["v"] != "2" {
		t.Errorf("delete from a stale copy checked revisions %v and returned labels %v, want etcd's object at %d", seen, out.(*corev1.Pod).Labels, rv2)
	}
}

// TestSharedUpdateFromCache: with Cached.Shared the update function gets
// the cache's object itself; returning it unchanged is a no-op that leaves
// it untouched (encoding stamps a copy), and a shallow-copied result is
// written without touching it either.
func TestSharedUpdateFromCache(t *testing.T) {
	base := newStore(t)
	c := startCache(t, base, nil)
	ctx := context.Background()
	rv := create(t, base, pod("ns", "a", "", map[string]string{"app": "web"}))
	cached := cachedAt(t, c, "ns", "a", rv)
	cached.Shared = true
	out, _, err := base.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, cached, func(cur runtime.Object) (runtime.Object, error) {
		if cur != cached.Obj {
			t.Error("Shared: update function did not get the cached object")
		}
		return cur, nil
	})
	if err != nil || rvOf(out) != rv || out == cached.Obj {
		t.Fatalf("shared no-op: rv %d (want %d), same object %v, %v", rvOf(out), rv, out == cached.Obj, err)
	}
	if !cached.Obj.GetObjectKind().GroupVersionKind().Empty() {
		t.Error("shared no-op stamped the cached object's kind")
	}
	out, _, err = base.GuaranteedUpdateFrom(ctx, podKey("ns", "a"), "Pod", false, cached, func(cur runtime.Object) (runtime.Object, error) {
		p := *cur.(*corev1.Pod)
		p.Spec.NodeName = "n1"
		return &p, nil
	})
	if err != nil || rvOf(out) <= rv {
		t.Fatalf("shared update: rv %d, %v", rvOf(out), err)
	}
	if p := cached.Obj.(*corev1.Pod); p.Spec.NodeName != "" || rvOf(p) != rv || !p.GetObjectKind().GroupVersionKind().Empty() {
		t.Errorf("shared update modified the cached pod: node %q rv %d kind %v", p.Spec.NodeName, rvOf(p), p.GetObjectKind().GroupVersionKind())
	}
	if p := etcdPod(t, base, "ns", "a"); p.Spec.NodeName != "n1" {
		t.Errorf("etcd holds node %q", p.Spec.NodeName)
	}
}
