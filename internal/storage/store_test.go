package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"kplane/internal/etcd"
	"kplane/internal/storage"
)

// newTestStore starts an embedded etcd in a temp dir and returns a store
// over it and the raw client.
func newTestStore(t *testing.T) (*storage.Store, *clientv3.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcd.New(etcd.Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), UnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return storage.New(client, storage.NewCodec(scheme), nil), client
}

func configMap(name string, labels map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}}
}

func cmKey(name string) string { return "/registry/configmaps/ns/" + name }

func rvOf(t *testing.T, obj runtime.Object) string {
	t.Helper()
	return obj.(metav1.Object).GetResourceVersion()
}

func modRevision(t *testing.T, c *clientv3.Client, key string) int64 {
	t.Helper()
	resp, err := c.Get(context.Background(), key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("etcd get %s: %v (%d keys)", key, err, len(resp.Kvs))
	}
	return resp.Kvs[0].ModRevision
}

func TestCreateGetConflict(t *testing.T) {
	s, c := newTestStore(t)
	ctx := context.Background()
	obj, err := s.Create(ctx, cmKey("a"), "configmaps", configMap("a", nil))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got, want := rvOf(t, obj), strconv.FormatInt(modRevision(t, c, cmKey("a")), 10); got != want {
		t.Fatalf("create returned resourceVersion %s, etcd mod revision %s", got, want)
	}
	_, err = s.Create(ctx, cmKey("a"), "configmaps", configMap("a", nil))
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	got, err := s.Get(ctx, cmKey("a"), "configmaps")
	if err != nil || rvOf(t, got) != rvOf(t, obj) || got.(*corev1.ConfigMap).Name != "a" {
		t.Fatalf("get: %v %v", got, err)
	}
	if _, err := s.Get(ctx, cmKey("missing"), "configmaps"); !storage.IsNotFound(err) {
		t.Fatalf("get missing: %v, want not found", err)
	}
	if _, err := s.Delete(ctx, cmKey("missing"), "configmaps", nil); !storage.IsNotFound(err) {
		t.Fatalf("delete missing: %v, want not found", err)
	}
	veto := errors.New("precondition")
	if _, err := s.Delete(ctx, cmKey("a"), "configmaps", func(runtime.Object) error { return veto }); !errors.Is(err, veto) {
		t.Fatalf("vetoed delete: %v", err)
	}
	deleted, err := s.Delete(ctx, cmKey("a"), "configmaps", nil)
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if rv, _ := strconv.ParseInt(rvOf(t, deleted), 10, 64); rv <= modRevisionOrZero(obj) {
		t.Fatalf("deleted object resourceVersion %d is not the deletion's revision", rv)
	}
}

func modRevisionOrZero(obj runtime.Object) int64 {
	rv, _ := strconv.ParseInt(obj.(metav1.Object).GetResourceVersion(), 10, 64)
	return rv
}

func TestGuaranteedUpdate(t *testing.T) {
	s, c := newTestStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, cmKey("counter"), "configmaps", configMap("counter", nil)); err != nil {
		t.Fatal(err)
	}

	t.Run("concurrent writers", func(t *testing.T) {
		const writers = 16
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for range writers {
			wg.Go(func() {
				_, _, err := s.GuaranteedUpdate(ctx, cmKey("counter"), "configmaps", false, func(cur runtime.Object) (runtime.Object, error) {
					cm := cur.(*corev1.ConfigMap).DeepCopy()
					n, _ := strconv.Atoi(cm.Annotations["count"])
					if cm.Annotations == nil {
						cm.Annotations = map[string]string{}
					}
					cm.Annotations["count"] = strconv.Itoa(n + 1)
					return cm, nil
				})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("update: %v", err)
			}
		}
		got, err := s.Get(ctx, cmKey("counter"), "configmaps")
		if err != nil {
			t.Fatal(err)
		}
		if n := got.(*corev1.ConfigMap).Annotations["count"]; n != strconv.Itoa(writers) {
			t.Fatalf("count = %s after %d concurrent increments; updates were lost", n, writers)
		}
	})

	t.Run("no-op keeps resourceVersion", func(t *testing.T) {
		before := modRevision(t, c, cmKey("counter"))
		out, created, err := s.GuaranteedUpdate(ctx, cmKey("counter"), "configmaps", false, func(cur runtime.Object) (runtime.Object, error) {
			return cur, nil
		})
		if err != nil || created {
			t.Fatalf("no-op update: created=%v err=%v", created, err)
		}
		if rvOf(t, out) != strconv.FormatInt(before, 10) || modRevision(t, c, cmKey("counter")) != before {
			t.Fatalf("no-op update wrote: rv %s, mod revision %d -> %d", rvOf(t, out), before, modRevision(t, c, cmKey("counter")))
		}
	})

	t.Run("function error aborts", func(t *testing.T) {
		before := modRevision(t, c, cmKey("counter"))
		stop := errors.New("stale")
		_, _, err := s.GuaranteedUpdate(ctx, cmKey("counter"), "configmaps", false, func(runtime.Object) (runtime.Object, error) { return nil, stop })
		if !errors.Is(err, stop) || modRevision(t, c, cmKey("counter")) != before {
			t.Fatalf("err = %v, want the function's error and no write", err)
		}
	})

	t.Run("missing key", func(t *testing.T) {
		_, _, err := s.GuaranteedUpdate(ctx, cmKey("nope"), "configmaps", false, func(cur runtime.Object) (runtime.Object, error) { return cur, nil })
		if !storage.IsNotFound(err) {
			t.Fatalf("update of a missing key: %v, want not found", err)
		}
		out, created, err := s.GuaranteedUpdate(ctx, cmKey("nope"), "configmaps", true, func(cur runtime.Object) (runtime.Object, error) {
			if cur != nil {
				t.Errorf("current object %v for a missing key", cur)
			}
			return configMap("nope", nil), nil
		})
		if err != nil || !created || rvOf(t, out) != strconv.FormatInt(modRevision(t, c, cmKey("nope")), 10) {
			t.Fatalf("create through update: created=%v err=%v", created, err)
		}
	})
}

// names lists the object names of a page.
func names(items []runtime.Object) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.(metav1.Object).GetName())
	}
	return out
}

func TestListPagination(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	for i := range 10 {
		labels := map[string]string{"even": strconv.FormatBool(i%2 == 0)}
		name := fmt.Sprintf("cm-%02d", i)
		if _, err := s.Create(ctx, cmKey(name), "configmaps", configMap(name, labels)); err != nil {
			t.Fatal(err)
		}
	}
	even := func(obj runtime.Object) bool { return obj.(metav1.Object).GetLabels()["even"] == "true" }

	for _, tc := range []struct {
		name      string
		limit     int64
		pred      storage.Predicate
		pages     []int
		remaining int64 // on the first page; -1 when not reported
	}{
		{name: "limit 3", limit: 3, pages: []int{3, 3, 3, 1}, remaining: 7},
		{name: "limit 5", limit: 5, pages: []int{5, 5}, remaining: 5},
		{name: "no limit", pages: []int{10}, remaining: -1},
		{name: "predicate fills the limit", limit: 2, pred: even, pages: []int{2, 2, 1}, remaining: -1},
		// As upstream, a full page gets a continue token while keys remain,
		// even if none of them match: the last page is then empty.
		{name: "predicate with limit 1", limit: 1, pred: even, pages: []int{1, 1, 1, 1, 1, 0}, remaining: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				pages []int
				all   []string
				cont  string
				rv    int64
			)
			for i := 0; ; i++ {
				res, err := s.List(ctx, "/registry/configmaps/ns/", "configmaps", storage.ListOptions{Limit: tc.limit, Continue: cont, Predicate: tc.pred})
				if err != nil {
					t.Fatalf("page %d: %v", i, err)
				}
				if i == 0 {
					rv = res.ResourceVersion
					got := int64(-1)
					if res.RemainingItemCount != nil {
						got = *res.RemainingItemCount
					}
					if got != tc.remaining {
						t.Errorf("remainingItemCount = %d, want %d", got, tc.remaining)
					}
					// A write after the first page must not show in later pages.
					if _, err := s.Create(ctx, cmKey(fmt.Sprintf("cm-05-late-%s", tc.name)), "configmaps", configMap("late", map[string]string{"even": "true"})); err != nil {
						t.Fatal(err)
					}
					defer func() { _, _ = s.Delete(ctx, cmKey(fmt.Sprintf("cm-05-late-%s", tc.name)), "configmaps", nil) }()
				} else if res.ResourceVersion != rv {
					t.Errorf("page %d at revision %d, first page at %d", i, res.ResourceVersion, rv)
				}
				pages = append(pages, len(res.Items))
				all = append(all, names(res.Items)...)
				if cont = res.Continue; cont == "" {
					break
				}
			}
			if fmt.Sprint(pages) != fmt.Sprint(tc.pages) {
				t.Errorf("page sizes = %v, want %v", pages, tc.pages)
			}
			var want []string
			for i := range 10 {
				if tc.pred == nil || i%2 == 0 {
					want = append(want, fmt.Sprintf("cm-%02d", i))
				}
			}
			if fmt.Sprint(all) != fmt.Sprint(want) {
				t.Errorf("items = %v, want %v", all, want)
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	s, c := newTestStore(t)
	ctx := context.Background()
	for _, name := range []string{"a", "b", "c"} {
		if _, err := s.Create(ctx, cmKey(name), "configmaps", configMap(name, nil)); err != nil {
			t.Fatal(err)
		}
	}
	first, err := s.List(ctx, "/registry/configmaps/ns/", "configmaps", storage.ListOptions{Limit: 1})
	if err != nil || first.Continue == "" {
		t.Fatalf("first page: %v", err)
	}
	old := strconv.FormatInt(first.ResourceVersion, 10)
	if _, _, err := s.GuaranteedUpdate(ctx, cmKey("a"), "configmaps", false, func(runtime.Object) (runtime.Object, error) {
		return configMap("a", map[string]string{"changed": "yes"}), nil
	}); err != nil {
		t.Fatal(err)
	}
	// The continue token still reads the old snapshot before compaction.
	if res, err := s.List(ctx, "/registry/configmaps/ns/", "configmaps", storage.ListOptions{Continue: first.Continue}); err != nil || fmt.Sprint(names(res.Items)) != "[b c]" {
		t.Fatalf("continue before compaction: %v %v", err, res)
	}
	cur, err := s.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compact(ctx, cur, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts storage.ListOptions
		want error
	}{
		{name: "expired continue", opts: storage.ListOptions{Limit: 1, Continue: first.Continue}, want: storage.ErrExpired},
		{name: "exact compacted", opts: storage.ListOptions{ResourceVersion: old, Match: metav1.ResourceVersionMatchExact}, want: storage.ErrExpired},
		{name: "too large", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(cur+1000, 10)}, want: storage.ErrTooLargeRV},
		{name: "exact too large", opts: storage.ListOptions{ResourceVersion: strconv.FormatInt(cur+1000, 10), Match: metav1.ResourceVersionMatchExact}, want: storage.ErrTooLargeRV},
		{name: "garbage continue", opts: storage.ListOptions{Continue: "abc"}, want: storage.ErrInvalidContinue},
		{name: "escaping continue", opts: storage.ListOptions{Continue: "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIuLi9zZWNyZXRzLyJ9"}, want: storage.ErrInvalidContinue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.List(ctx, "/registry/configmaps/ns/", "configmaps", tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if res, err := s.List(ctx, "/registry/configmaps/ns/", "configmaps", storage.ListOptions{ResourceVersion: old}); err != nil || len(res.Items) != 3 {
		t.Fatalf("not-older-than list of a compacted revision reads the latest: %v", err)
	}
}

// event is a watch event reduced to what the tests compare.
func event(ev storage.Event) string {
	if ev.Type == watch.Error {
		return "ERROR " + ev.Err.Error()
	}
	if ev.Type == watch.Bookmark {
		return fmt.Sprintf("BOOKMARK end=%v", ev.InitialEventsEnd)
	}
	o := ev.Object.(*corev1.ConfigMap)
	return fmt.Sprintf("%s %s app=%s", ev.Type, o.Name, o.Labels["app"])
}

func collect(t *testing.T, ch <-chan storage.Event, n int) []string {
	t.Helper()
	var out []string
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %q", out)
			}
			// Initial ADDED events leave RV zero; the object carries it.
			if ev.RV != 0 && ev.Type != watch.Error && ev.Type != watch.Bookmark && strconv.FormatInt(ev.RV, 10) != rvOf(t, ev.Object) {
				t.Errorf("event RV %d, object resourceVersion %s", ev.RV, rvOf(t, ev.Object))
			}
			out = append(out, event(ev))
		case <-timeout:
			t.Fatalf("timed out after %q", out)
		}
	}
	return out
}

func TestWatchPredicateTransitions(t *testing.T) {
	s, _ := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Create(ctx, cmKey("pre"), "configmaps", configMap("pre", map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	web := func(obj runtime.Object) bool { return obj.(metav1.Object).GetLabels()["app"] == "web" }
	ch, err := s.Watch(ctx, "/registry/configmaps/ns/", "configmaps", storage.WatchOptions{
		Recursive: true, Predicate: web, SendInitial: true, InitialEventsEnd: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, ch, 2); fmt.Sprint(got) != "[ADDED pre app=web BOOKMARK end=true]" {
		t.Fatalf("initial events = %q", got)
	}
	relabel := func(name, app string) {
		t.Helper()
		if _, _, err := s.GuaranteedUpdate(ctx, cmKey(name), "configmaps", false, func(cur runtime.Object) (runtime.Object, error) {
			cm := cur.(*corev1.ConfigMap).DeepCopy()
			cm.Labels = map[string]string{"app": app}
			return cm, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, cmKey("a"), "configmaps", configMap("a", map[string]string{"app": "web"})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, cmKey("other"), "configmaps", configMap("other", map[string]string{"app": "db"})); err != nil {
		t.Fatal(err)
	}
	relabel("a", "web")   // no-op write: nothing
	relabel("other", "x") // never matches: nothing
	relabel("a", "db")    // stops matching: DELETED with the last matching state
	relabel("a", "x")     // still not matching: nothing
	relabel("a", "web")   // matches again: ADDED
	if _, err := s.Delete(ctx, cmKey("other"), "configmaps", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, cmKey("a"), "configmaps", nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED a app=web", "DELETED a app=web", "ADDED a app=web", "DELETED a app=web"}
	if got := collect(t, ch, len(want)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events:\n got %q\nwant %q", got, want)
	}
}

func TestWatchFromCompactedRevision(t *testing.T) {
	s, c := newTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obj, err := s.Create(ctx, cmKey("a"), "configmaps", configMap("a", nil))
	if err != nil {
		t.Fatal(err)
	}
	old := modRevisionOrZero(obj)
	for i := range 3 {
		if _, _, err := s.GuaranteedUpdate(ctx, cmKey("a"), "configmaps", false, func(runtime.Object) (runtime.Object, error) {
			return configMap("a", map[string]string{"i": strconv.Itoa(i)}), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := s.CurrentRevision(ctx)
	if _, err := c.Compact(ctx, cur, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, "/registry/configmaps/ns/", "configmaps", storage.WatchOptions{Recursive: true, ResourceVersion: old})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Type != watch.Error || !errors.Is(ev.Err, storage.ErrExpired) {
			t.Fatalf("first event %s %v, want an ErrExpired error", ev.Type, ev.Err)
		}
		if want := fmt.Sprintf("too old resource version: %d (%d)", old, cur); ev.Err.Error() != want {
			t.Fatalf("error %q, want %q", ev.Err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event from a compacted watch")
	}
	if _, ok := <-ch; ok {
		t.Fatal("watch kept going after its error")
	}
	// From the current revision it works and sees the next change.
	ch, _ = s.Watch(ctx, cmKey("a"), "configmaps", storage.WatchOptions{ResourceVersion: cur})
	if _, err := s.Delete(ctx, cmKey("a"), "configmaps", nil); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, ch, 1); got[0] != "DELETED a app=" {
		t.Fatalf("event %q, want DELETED a", got)
	}
}
