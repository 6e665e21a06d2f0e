package cacher_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"kplane/internal/cacher"
	"kplane/internal/etcd"
	"kplane/internal/storage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newStore starts an embedded etcd in a temp dir.
func newStore(t testing.TB) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := etcd.New(etcd.Config{DataDir: t.TempDir(), Logger: quiet, UnsafeNoFsync: true})
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
	return storage.New(client, storage.NewCodec(scheme), nil)
}

// podAttrs mirrors the registry's pod field set (the part tests use).
func podAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	f := fields.Set{"metadata.name": acc.GetName(), "metadata.namespace": acc.GetNamespace()}
	if p, ok := obj.(*corev1.Pod); ok {
		f["spec.nodeName"] = p.Spec.NodeName
		f["status.phase"] = string(p.Status.Phase)
	}
	return labels.Set(acc.GetLabels()), f, nil
}

// predicate is the etcd-side equivalent of sel, as the registry builds it.
func predicate(sel cacher.Selection) storage.Predicate {
	if sel.Labels == nil && sel.Fields == nil {
		return nil
	}
	return func(obj runtime.Object) bool {
		l, f, err := podAttrs(obj)
		if err != nil {
			return false
		}
		return (sel.Labels == nil || sel.Labels.Matches(l)) && (sel.Fields == nil || sel.Fields.Matches(f))
	}
}

const prefix = "/registry/pods/"

func podKey(ns, name string) string { return prefix + ns + "/" + name }

func pod(ns, name, node string, lbl map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
}

// startCache runs a cacher over store and waits until it is ready.
func startCache(t testing.TB, store *storage.Store, mod func(*cacher.Config)) *cacher.Cacher {
	t.Helper()
	cfg := cacher.Config{Store: store, Prefix: prefix, Type: "Pod", Resource: "pods", Attrs: podAttrs,
		IndexFields: []string{"spec.nodeName"}, Logger: quiet, ProgressInterval: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := cacher.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "cache ready", c.Ready)
	return c
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func create(t testing.TB, s *storage.Store, p *corev1.Pod) int64 {
	t.Helper()
	out, err := s.Create(context.Background(), podKey(p.Namespace, p.Name), "Pod", p)
	if err != nil {
		t.Fatalf("create %s/%s: %v", p.Namespace, p.Name, err)
	}
	rv, _ := storage.ParseRV(out.(*corev1.Pod).ResourceVersion)
	return rv
}

func update(t testing.TB, s *storage.Store, ns, name string, fn func(*corev1.Pod)) int64 {
	t.Helper()
	out, _, err := s.GuaranteedUpdate(context.Background(), podKey(ns, name), "Pod", false, func(cur runtime.Object) (runtime.Object, error) {
		p := cur.(*corev1.Pod).DeepCopy()
		fn(p)
		return p, nil
	})
	if err != nil {
		t.Fatalf("update %s/%s: %v", ns, name, err)
	}
	rv, _ := storage.ParseRV(out.(*corev1.Pod).ResourceVersion)
	return rv
}

func del(t testing.TB, s *storage.Store, ns, name string) int64 {
	t.Helper()
	out, err := s.Delete(context.Background(), podKey(ns, name), "Pod", nil)
	if err != nil {
		t.Fatalf("delete %s/%s: %v", ns, name, err)
	}
	rv, _ := storage.ParseRV(out.(*corev1.Pod).ResourceVersion)
	return rv
}

// summary renders list items comparably: key, resourceVersion, node, labels.
func summary(items []runtime.Object) string {
	out := ""
	for _, it := range items {
		p := it.(*corev1.Pod)
		out += fmt.Sprintf("%s/%s@%s node=%s l=%v; ", p.Namespace, p.Name, p.ResourceVersion, p.Spec.NodeName, p.Labels)
	}
	return out
}

func eventSummary(ev storage.Event) string {
	if ev.Type == watch.Bookmark || ev.Type == watch.Error {
		return string(ev.Type)
	}
	p := ev.Object.(*corev1.Pod)
	return fmt.Sprintf("%s %s/%s@%s node=%s l=%v", ev.Type, p.Namespace, p.Name, p.ResourceVersion, p.Spec.NodeName, p.Labels)
}

// TestPropertyCacheEqualsEtcd applies random creates, updates and deletes
// and checks that lists (all, namespace, label and field selectors,
// paginated) and watches from the cache equal the etcd store's at the same
// resourceVersion.
func TestPropertyCacheEqualsEtcd(t *testing.T) {
	store := newStore(t)
	c := startCache(t, store, func(cfg *cacher.Config) { cfg.BookmarkCheck = 50 * time.Millisecond })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	nss := []string{"a", "b", "c"}
	nodes := []string{"", "n1", "n2"}
	live := map[string]bool{}
	startRV, err := store.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sels := []cacher.Selection{
		{},
		{Labels: labels.SelectorFromSet(labels.Set{"app": "x"})},
		{Fields: fields.OneTermEqualSelector("spec.nodeName", "n1")},
		{Fields: fields.OneTermNotEqualSelector("spec.nodeName", "")},
		{Labels: labels.SelectorFromSet(labels.Set{"app": "y"}), Fields: fields.OneTermEqualSelector("spec.nodeName", "n2")},
	}
	// Watches from the start, through cache and etcd, for each selection.
	type pair struct{ cache, etcd <-chan storage.Event }
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var watches []pair
	for _, sel := range sels {
		cw, err := c.Watch(wctx, "", "", sel, storage.WatchOptions{ResourceVersion: startRV, Predicate: predicate(sel), ProgressInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ew, err := store.Watch(wctx, prefix, "Pod", storage.WatchOptions{ResourceVersion: startRV, Recursive: true, Predicate: predicate(sel), ProgressInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		watches = append(watches, pair{cw, ew})
	}
	var lastRV int64
	for round := 0; round < 6; round++ {
		for i := 0; i < 40; i++ {
			ns := nss[rng.IntN(len(nss))]
			name := "p" + strconv.Itoa(rng.IntN(15))
			key := ns + "/" + name
			lbl := map[string]string{"app": []string{"x", "y"}[rng.IntN(2)]}
			switch {
			case !live[key]:
				lastRV = create(t, store, pod(ns, name, nodes[rng.IntN(3)], lbl))
				live[key] = true
			case rng.IntN(3) == 0:
				lastRV = del(t, store, ns, name)
				delete(live, key)
			default:
				node := nodes[rng.IntN(3)]
				lastRV = update(t, store, ns, name, func(p *corev1.Pod) { p.Spec.NodeName = node; p.Labels = lbl })
			}
		}
		rv := strconv.FormatInt(lastRV, 10)
		for _, sel := range sels {
			for _, ns := range []string{"", "b"} {
				for _, limit := range []int64{0, 4} {
					name := fmt.Sprintf("round %d ns=%q sel=%v/%v limit=%d", round, ns, sel.Labels, sel.Fields, limit)
					got := listAll(t, func(cont string) (*storage.ListResult, error) {
						o := storage.ListOptions{Limit: limit, Continue: cont, Predicate: predicate(sel)}
						if cont == "" {
							o.ResourceVersion = rv
							o.Match = metav1.ResourceVersionMatchExact
						}
						return c.List(ctx, ns, sel, o)
					})
					want := listAll(t, func(cont string) (*storage.ListResult, error) {
						o := storage.ListOptions{Limit: limit, Continue: cont, Predicate: predicate(sel)}
						if cont == "" {
							o.ResourceVersion = rv
							o.Match = metav1.ResourceVersionMatchExact
						}
						p := prefix
						if ns != "" {
							p += ns + "/"
						}
						return store.List(ctx, p, "Pod", o)
					})
					if got != want {
						t.Fatalf("%s:\ncache %s\netcd  %s", name, got, want)
					}
				}
			}
		}
	}
	// Both watches of each selection must deliver the same events up to lastRV.
	for i, w := range watches {
		got, want := collect(t, w.cache, lastRV), collect(t, w.etcd, lastRV)
		if len(got) != len(want) {
			t.Fatalf("selection %d: cache watch sent %d events, etcd %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("selection %d event %d: cache %q, etcd %q", i, j, got[j], want[j])
			}
		}
	}
}

// listAll pages through a list and renders it with its resourceVersion.
func listAll(t *testing.T, list func(cont string) (*storage.ListResult, error)) string {
	t.Helper()
	out, cont := "", ""
	for pages := 0; ; pages++ {
		res, err := list(cont)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		rem := "-"
		if res.RemainingItemCount != nil {
			rem = strconv.FormatInt(*res.RemainingItemCount, 10)
		}
		out += fmt.Sprintf("[rv=%d rem=%s] %s", res.ResourceVersion, rem, summary(res.Items))
		if res.Continue == "" {
			return out
		}
		cont = res.Continue
	}
}

// collect reads events until one (or a bookmark) at or after rv has been
// seen, with a generous timeout for slow machines.
func collect(t *testing.T, ch <-chan storage.Event, rv int64) []string {
	t.Helper()
	var out []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %d events", len(out))
			}
			if ev.Type == watch.Bookmark {
				if ev.RV >= rv {
					return out
				}
				continue
			}
			if ev.Type == watch.Error {
				t.Fatalf("watch error: %v", ev.Err)
			}
			out = append(out, eventSummary(ev))
			if ev.RV >= rv {
				return out
			}
		case <-timeout:
			// Nothing at rv for this selection: what arrived is all.
			return out
		}
	}
}

// TestConsistentListIncludesWrite: a list with resourceVersion "" right
// after a write always contains that write, and is served by the cache.
func TestConsistentListIncludesWrite(t *testing.T) {
	store := newStore(t)
	c := startCache(t, store, nil)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		name := "p" + strconv.Itoa(i)
		rv := create(t, store, pod("ns", name, "", nil))
		res, err := c.List(ctx, "ns", cacher.Selection{}, storage.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ResourceVersion < rv || len(res.Items) != i+1 {
			t.Fatalf("consistent list after write at %d: rv %d, %d items, want %d", rv, res.ResourceVersion, len(res.Items), i+1)
		}
	}
	// An idle resource still gets consistent reads from the cache: etcd's
	// revision moves through another key and a progress request.
	if _, err := store.Create(ctx, "/registry/configmaps/ns/x", "ConfigMap", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "ns"}}); err != nil {
		t.Fatal(err)
	}
	rev, _ := store.CurrentRevision(ctx)
	res, err := c.List(ctx, "", cacher.Selection{}, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ResourceVersion < rev {
		t.Fatalf("consistent list at rv %d, etcd at %d", res.ResourceVersion, rev)
	}
}

// TestWatchTooOld: a resourceVersion that has left the window gets a 410
// Expired error event; one inside it resumes without loss.
func TestWatchTooOld(t *testing.T) {
	store := newStore(t)
	c := startCache(t, store, func(cfg *cacher.Config) { cfg.MaxEvents = 5; cfg.HistoryRevisions = -1 })
	first := create(t, store, pod("ns", "p", "", nil))
	var last int64
	for i := 0; i < 10; i++ {
		last = update(t, store, "ns", "p", func(p *corev1.Pod) { p.Labels = map[string]string{"i": strconv.Itoa(i)} })
	}
	waitUntil(t, "cache at last write", func() bool { return c.ResourceVersion() >= last })
	ch, err := c.Watch(context.Background(), "", "", cacher.Selection{}, storage.WatchOptions{ResourceVersion: first})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-ch
	if ev.Type != watch.Error || !errors.Is(ev.Err, storage.ErrExpired) {
		t.Fatalf("watch from %d: got %v %v, want 410 Expired", first, ev.Type, ev.Err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err = c.Watch(ctx, "", "", cacher.Selection{}, storage.WatchOptions{ResourceVersion: last - 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, ch, last); len(got) != 2 {
		t.Fatalf("watch from %d inside the window: %v, want the last 2 updates", last-2, got)
	}
}

// TestBookmarks: bookmarks arrive while nothing changes, and a watch with
// initial events ends them with the initial-events-end bookmark.
func TestBookmarks(t *testing.T) {
	store := newStore(t)
	c := startCache(t, store, func(cfg *cacher.Config) { cfg.BookmarkCheck = 20 * time.Millisecond })
	create(t, store, pod("ns", "a", "n1", nil))
	create(t, store, pod("ns", "b", "n2", nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sel := cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", "n1")}
	ch, err := c.Watch(ctx, "", "", sel, storage.WatchOptions{SendInitial: true, InitialEventsEnd: true, ProgressInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-ch
	if ev.Type != watch.Added || ev.Object.(*corev1.Pod).Name != "a" {
		t.Fatalf("first event %s, want ADDED ns/a", eventSummary(ev))
	}
	ev = <-ch
	if ev.Type != watch.Bookmark || !ev.InitialEventsEnd || ev.RV < c.ResourceVersion()-1 {
		t.Fatalf("second event %v (end %v, rv %d), want the initial-events-end bookmark", ev.Type, ev.InitialEventsEnd, ev.RV)
	}
	startRV := ev.RV
	for i := 0; i < 3; i++ {
		select {
		case ev = <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal("no bookmark within 30s")
		}
		if ev.Type != watch.Bookmark || ev.InitialEventsEnd || ev.RV < startRV {
			t.Fatalf("event %d: %v rv %d, want a periodic bookmark at >= %d", i, ev.Type, ev.RV, startRV)
		}
	}
}

// TestSlowWatcherCutOff: a watcher that stops reading is closed once its
// queue is full; another watcher keeps receiving every event.
func TestSlowWatcherCutOff(t *testing.T) {
	store := newStore(t)
	c := startCache(t, store, func(cfg *cacher.Config) { cfg.WatcherBuffer = 10 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, err := c.Watch(ctx, "", "", cacher.Selection{}, storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := c.Watch(ctx, "", "", cacher.Selection{}, storage.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	got := make(chan int, 1)
	go func() {
		count := 0
		for ev := range fast {
			if ev.Type == watch.Added {
				count++
				if count == n {
					break
				}
			}
		}
		got <- count
	}()
	for i := 0; i < n; i++ {
		create(t, store, pod("ns", "p"+strconv.Itoa(i), "", nil))
	}
	select {
	case count := <-got:
		if count != n {
			t.Fatalf("fast watcher got %d events, want %d", count, n)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fast watcher did not get every event")
	}
	// The slow watcher's channel is closed after at most its buffers' worth.
	received := 0
	timeout := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-slow:
			if !ok {
				if received >= n {
					t.Fatalf("slow watcher got all %d events; it should have been cut off", received)
				}
				return
			}
			received++
		case <-timeout:
			t.Fatal("slow watcher was not closed")
		}
	}
}

// TestFieldIndexListAndWatch: pods of one node by spec.nodeName come from
// the index, watchers of other nodes see nothing, and a pod moving away
// is DELETED for its old node's watcher.
func TestFieldIndexListAndWatch(t *testing.T) {
	store := newStore(t)
	c := startCache(t, store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 6; i++ {
		create(t, store, pod("ns", "p"+strconv.Itoa(i), "n"+strconv.Itoa(i%3), nil))
	}
	sel := cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", "n1")}
	res, err := c.List(ctx, "", sel, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := summaryNames(res.Items); got != "p1,p4" {
		t.Fatalf("pods of n1: %s", got)
	}
	w1, err := c.Watch(ctx, "", "", sel, storage.WatchOptions{ResourceVersion: res.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	w2, err := c.Watch(ctx, "", "", cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", "n2")}, storage.WatchOptions{ResourceVersion: res.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	update(t, store, "ns", "p0", func(p *corev1.Pod) { p.Labels = map[string]string{"x": "y"} }) // n0: nobody
	last := update(t, store, "ns", "p1", func(p *corev1.Pod) { p.Spec.NodeName = "n2" })         // n1 -> n2
	if got := collect(t, w1, last); len(got) != 1 || got[0][:7] != "DELETED" {
		t.Fatalf("n1 watcher: %v, want one DELETED", got)
	}
	if got := collect(t, w2, last); len(got) != 1 || got[0][:5] != "ADDED" {
		t.Fatalf("n2 watcher: %v, want one ADDED", got)
	}
}

func summaryNames(items []runtime.Object) string {
	out := ""
	for i, it := range items {
		if i > 0 {
			out += ","
		}
		out += it.(*corev1.Pod).Name
	}
	return out
}

// TestRestartResumesFromHistory: a new cache (an API server restart)
// replays recent etcd history, so a watcher resumes from its last
// resourceVersion without 410 and without missing a change.
func TestRestartResumesFromHistory(t *testing.T) {
	store := newStore(t)
	old := startCache(t, store, nil)
	lastSeen := create(t, store, pod("ns", "a", "n1", nil))
	waitUntil(t, "first cache caught up", func() bool { return old.ResourceVersion() >= lastSeen })
	// Changes while "down".
	update(t, store, "ns", "a", func(p *corev1.Pod) { p.Labels = map[string]string{"v": "2"} })
	last := create(t, store, pod("ns", "b", "n1", nil))
	c := startCache(t, store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sel := cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", "n1")}
	ch, err := c.Watch(ctx, "", "", sel, storage.WatchOptions{ResourceVersion: lastSeen})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, ch, last)
	if len(got) != 2 || got[0][:8] != "MODIFIED" || got[1][:5] != "ADDED" {
		t.Fatalf("resumed watch: %v, want MODIFIED a then ADDED b", got)
	}
}
