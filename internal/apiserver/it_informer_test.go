package apiserver_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/controlplane"
)

// countingLW wraps a pod ListWatch: it counts full (re)lists, whether done
// by LIST or by a sendInitialEvents watch, and can hold new watches back
// and cut the current one, so a test can make the informer's
// resourceVersion too old before it reconnects.
type countingLW struct {
	mu         sync.Mutex // guards the fields below
	cs         kubernetes.Interface
	ns         string
	lists      int
	watchLists int
	errors     []string
	hold       chan struct{}
	current    watch.Interface
}

func (c *countingLW) listWatch() *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			c.mu.Lock()
			c.lists++
			cs := c.cs
			c.mu.Unlock()
			return cs.CoreV1().Pods(c.ns).List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			c.mu.Lock()
			if opts.SendInitialEvents != nil && *opts.SendInitialEvents {
				c.watchLists++
			}
			hold, cs := c.hold, c.cs
			c.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			w, err := cs.CoreV1().Pods(c.ns).Watch(ctx, opts)
			if err != nil {
				return nil, err
			}
			cw := newCuttableWatch(w, c.sawError)
			c.mu.Lock()
			c.current = cw
			c.mu.Unlock()
			return cw, nil
		},
	}
}

// cuttableWatch forwards a watch's events; Stop ends it the way a server
// ends a watch cleanly (the channel closes with no error event), so the
// reflector resumes from its last resourceVersion instead of relisting.
type cuttableWatch struct {
	real watch.Interface
	ch   chan watch.Event
	done chan struct{}
	once sync.Once
}

func newCuttableWatch(real watch.Interface, onError func(watch.Event)) *cuttableWatch {
	w := &cuttableWatch{real: real, ch: make(chan watch.Event), done: make(chan struct{})}
	go func() {
		defer close(w.ch)
		for {
			select {
			case <-w.done:
				return
			case ev, ok := <-real.ResultChan():
				if !ok {
					return
				}
				// Events that follow our Stop (the client's "body
				// closed" error) are not the server's: drop them.
				select {
				case <-w.done:
					return
				default:
				}
				if ev.Type == watch.Error {
					onError(ev)
				}
				select {
				case w.ch <- ev:
				case <-w.done:
					return
				}
			}
		}
	}()
	return w
}

func (w *cuttableWatch) Stop() {
	w.once.Do(func() {
		close(w.done)
		w.real.Stop()
	})
}

func (w *cuttableWatch) ResultChan() <-chan watch.Event { return w.ch }

// sawError records the watch ERROR events the server sent.
func (c *countingLW) sawError(ev watch.Event) {
	st, _ := ev.Object.(*metav1.Status)
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == nil {
		c.errors = append(c.errors, fmt.Sprintf("%T", ev.Object))
		return
	}
	c.errors = append(c.errors, fmt.Sprintf("%d %s", st.Code, st.Reason))
}

func (c *countingLW) watchErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// counts returns (lists, watchLists).
func (c *countingLW) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists, c.watchLists
}

// holdAndCut makes new watches wait and stops the running one; the
// returned function lets them through again.
func (c *countingLW) holdAndCut() func() {
	c.mu.Lock()
	c.hold = make(chan struct{})
	hold, cur := c.hold, c.current
	c.mu.Unlock()
	if cur != nil {
		cur.Stop()
	}
	return func() {
		c.mu.Lock()
		c.hold = nil
		c.mu.Unlock()
		close(hold)
	}
}

// eventLog records informer callbacks as "ADD name", "UPDATE name",
// "DELETE name"; resyncs (same resourceVersion) are not recorded.
type eventLog struct {
	mu     sync.Mutex // guards events
	events []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.events = append(l.events, s)
	l.mu.Unlock()
}

func (l *eventLog) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { l.add("ADD " + obj.(*corev1.Pod).Name) },
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
			if o.ResourceVersion != n.ResourceVersion {
				l.add("UPDATE " + n.Name)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			l.add("DELETE " + obj.(*corev1.Pod).Name)
		},
	}
}

// expect waits until the log holds len(want) more events after from and
// checks they are exactly want, in order. It returns the new log length.
func (l *eventLog) expect(t *testing.T, from int, want ...string) int {
	t.Helper()
	return l.expectOrdered(t, from, true, want...)
}

// expectOrdered is expect; ordered false compares the events as a set (a
// relist's deltas come in an order client-go chooses, not the server).
func (l *eventLog) expectOrdered(t *testing.T, from int, ordered bool, want ...string) int {
	t.Helper()
	var got []string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, itTimeout, true, func(context.Context) (bool, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		got = append([]string(nil), l.events[from:]...)
		return len(got) >= len(want), nil
	})
	if err != nil {
		t.Fatalf("timed out waiting for events %q; got %q", want, got)
	}
	// Give stray events (duplicates, a relist's re-ADDs) a moment to show.
	time.Sleep(200 * time.Millisecond)
	l.mu.Lock()
	got = append([]string(nil), l.events[from:]...)
	l.mu.Unlock()
	if !ordered {
		got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events = %q, want %q", got, want)
	}
	return from + len(got)
}

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
}

func createNamespace(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

func labelPod(t *testing.T, cs kubernetes.Interface, ns, name, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{"step":%q}}}`, value)
	if _, err := cs.CoreV1().Pods(ns).Patch(context.Background(), name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("label pod %s: %v", name, err)
	}
}

// compactNow compacts etcd at its current revision and returns it.
func compactNow(t *testing.T, cp *controlplane.ControlPlane) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	cli := cp.EtcdClient()
	resp, err := cli.Get(ctx, "compact-probe", clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("read etcd revision: %v", err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact etcd at %d: %v", resp.Header.Revision, err)
	}
	return resp.Header.Revision
}

// TestInformer runs a pod informer through add/update/delete, a control
// plane restart (it must resume its watch, not relist) and a compaction
// that makes its resourceVersion too old (it must relist), with client-go's
// WatchList (sendInitialEvents) on and off.
func TestInformer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		watchList bool
	}{
		{name: "watchlist", watchList: true},
		{name: "list", watchList: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, tc.watchList)
			dataDir := t.TempDir()
			cp, stop := startStoppable(t, controlplane.Config{DataDir: dataDir})
			cs, _ := adminClientset(t, cp)
			ctx := context.Background()
			const ns = "inf"
			createNamespace(t, cs, ns)
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, testPod("pre"), metav1.CreateOptions{}); err != nil {
				t.Fatalf("create pre: %v", err)
			}

			clw := &countingLW{cs: cs, ns: ns}
			inf := cache.NewSharedIndexInformer(clw.listWatch(), &corev1.Pod{}, 0, cache.Indexers{})
			var log eventLog
			if _, err := inf.AddEventHandler(log.handler()); err != nil {
				t.Fatalf("add handler: %v", err)
			}
			infCtx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); inf.RunWithContext(infCtx) }()
			t.Cleanup(func() { cancel(); wg.Wait() })
			if !cache.WaitForCacheSync(infCtx.Done(), inf.HasSynced) {
				t.Fatal("informer did not sync")
			}
			n := log.expect(t, 0, "ADD pre")
			lists, watchLists := clw.counts()
			wantLists, wantWatchLists := 1, 0
			if tc.watchList {
				wantLists, wantWatchLists = 0, 1
			}
			if lists != wantLists || watchLists != wantWatchLists {
				t.Fatalf("initial sync: %d lists and %d watch-lists, want %d and %d", lists, watchLists, wantLists, wantWatchLists)
			}

			// Add, update, delete arrive in order.
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, testPod("p1"), metav1.CreateOptions{}); err != nil {
				t.Fatalf("create p1: %v", err)
			}
			labelPod(t, cs, ns, "p1", "1")
			if err := cs.CoreV1().Pods(ns).Delete(ctx, "p1", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
				t.Fatalf("delete p1: %v", err)
			}
			n = log.expect(t, n, "ADD p1", "UPDATE p1", "DELETE p1")

			// Restart on the same data dir and port: the watch resumes.
			u, err := url.Parse(cp.URL())
			if err != nil {
				t.Fatalf("parse URL: %v", err)
			}
			port, _ := strconv.Atoi(u.Port())
			stop()
			cp2 := startControlPlane(t, controlplane.Config{DataDir: dataDir, Port: port})
			cs2, _ := adminClientset(t, cp2)
			if _, err := cs2.CoreV1().Pods(ns).Create(ctx, testPod("post"), metav1.CreateOptions{}); err != nil {
				t.Fatalf("create post: %v", err)
			}
			labelPod(t, cs2, ns, "pre", "after-restart")
			n = log.expect(t, n, "ADD post", "UPDATE pre")
			if l, wl := clw.counts(); l+wl != 1 {
				t.Fatalf("after restart: %d lists and %d watch-lists, want no relist", l, wl)
			}

			// Too old: cut the watch, change and compact, let it reconnect.
			// The watch gets 410 Expired and the informer relists.
			release := clw.holdAndCut()
			if _, err := cs2.CoreV1().Pods(ns).Create(ctx, testPod("gone-1"), metav1.CreateOptions{}); err != nil {
				t.Fatalf("create gone-1: %v", err)
			}
			if err := cs2.CoreV1().Pods(ns).Delete(ctx, "post", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
				t.Fatalf("delete post: %v", err)
			}
			compactNow(t, cp2)
			release()
			log.expectOrdered(t, n, false, "ADD gone-1", "DELETE post")
			if got := clw.watchErrors(); fmt.Sprint(got) != "[410 Expired]" {
				t.Fatalf("watch errors = %q, want one 410 Expired", got)
			}
			if l, wl := clw.counts(); l+wl != 2 {
				t.Fatalf("after compaction: %d lists and %d watch-lists, want exactly one relist", l, wl)
			}
			keys := inf.GetStore().ListKeys()
			if fmt.Sprint(keys) != fmt.Sprint([]string{"inf/gone-1", "inf/pre"}) && fmt.Sprint(keys) != fmt.Sprint([]string{"inf/pre", "inf/gone-1"}) {
				t.Fatalf("informer store keys = %q, want inf/gone-1 and inf/pre", keys)
			}
		})
	}
}
