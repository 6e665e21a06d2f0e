package cacher_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"kplane/internal/cacher"
	"kplane/internal/storage"
	"kplane/internal/testutil"
)

// benchPods is how many pods the benchmarks load (KPLANE_BENCH_PODS,
// default 20,000; the figure is 150,000). Pods are spread over
// namespaces of 3,000 and over benchNodes nodes.
func benchPods() int {
	if v, err := strconv.Atoi(os.Getenv("KPLANE_BENCH_PODS")); err == nil && v > 0 {
		return v
	}
	return 20000
}

const (
	podsPerNamespace = 3000
	benchNodes       = 5000
)

func benchNS(i int) string   { return "ns-" + strconv.Itoa(i/podsPerNamespace) }
func benchNode(i int) string { return "node-" + strconv.Itoa(i%benchNodes) }

func realisticPod(i int) *corev1.Pod {
	ns, name := benchNS(i), "web-"+strconv.Itoa(i)
	p := testutil.RealisticPod(ns, name, i)
	p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	p.UID = types.UID(fmt.Sprintf("7d0c8a8e-0000-4000-8000-%012d", i))
	p.CreationTimestamp = *p.Status.StartTime
	p.Spec.NodeName = benchNode(i)
	return p
}

// fill writes n realistic pods straight into etcd, 16 writers in parallel.
func fill(b *testing.B, store *storage.Store, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				p := realisticPod(i)
				data, err := store.Codec().Encode(p)
				if err == nil {
					_, err = store.Client().Put(ctx, podKey(p.Namespace, p.Name), string(data))
				}
				if err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

var (
	benchOnce  sync.Once
	benchStore *storage.Store
)

// sharedStore loads benchPods() pods once for all benchmarks of a run.
func sharedStore(b *testing.B) *storage.Store {
	benchOnce.Do(func() {
		store := newStore(&onceTB{b})
		start := time.Now()
		fill(b, store, benchPods())
		b.Logf("loaded %d pods into etcd in %v", benchPods(), time.Since(start).Round(time.Millisecond))
		benchStore = store
	})
	return benchStore
}

// onceTB keeps the shared etcd alive for the whole run: its cleanups
// never run (the process exits after the benchmarks).
type onceTB struct{ *testing.B }

func (o *onceTB) Cleanup(func())  {}
func (o *onceTB) TempDir() string { d, _ := os.MkdirTemp("", "cacher-bench-"); return d }

func heapInUse() uint64 {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemory reports the cache's heap per pod next to the decoded
// pods' own size (the same pods held in a slice): the difference is the
// cache's overhead per pod (tree, entries, field sets, indexes).
func BenchmarkMemory(b *testing.B) {
	store := sharedStore(b)
	n := benchPods()
	for b.Loop() {
		before := heapInUse()
		res, err := store.List(context.Background(), prefix, "Pod", storage.ListOptions{})
		if err != nil {
			b.Fatal(err)
		}
		objects := heapInUse() - before
		goruntime.KeepAlive(res)
		res = nil
		before = heapInUse()
		c := startCache(b, store, nil)
		cacheBytes := heapInUse() - before
		goruntime.KeepAlive(c)
		b.ReportMetric(float64(objects)/float64(n), "objects-B/pod")
		b.ReportMetric(float64(cacheBytes)/float64(n), "cache-B/pod")
		b.ReportMetric(float64(int64(cacheBytes)-int64(objects))/float64(n), "overhead-B/pod")
	}
}

type lister func(ctx context.Context, ns string, sel cacher.Selection, opts storage.ListOptions) (*storage.ListResult, error)

// sources are the two ways to serve a list: the cache and etcd directly.
func sources(b *testing.B, store *storage.Store) map[string]lister {
	c := startCache(b, store, nil)
	return map[string]lister{
		"source=cache": c.List,
		"source=etcd": func(ctx context.Context, ns string, sel cacher.Selection, opts storage.ListOptions) (*storage.ListResult, error) {
			p := prefix
			if ns != "" {
				p += ns + "/"
			}
			opts.Predicate = predicate(sel)
			return store.List(ctx, p, "Pod", opts)
		},
	}
}

// encodeList encodes the items as a protobuf PodList, as the API server
// answers a list.
func encodeList(b *testing.B, ser *protobuf.Serializer, buf *bytes.Buffer, res *storage.ListResult) {
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
	list.ResourceVersion = strconv.FormatInt(res.ResourceVersion, 10)
	list.Items = make([]corev1.Pod, len(res.Items))
	for i, it := range res.Items {
		list.Items[i] = *it.(*corev1.Pod)
	}
	buf.Reset()
	if err := ser.Encode(list, buf); err != nil {
		b.Fatal(err)
	}
}

func p99(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return float64(ds[(len(ds)*99)/100].Microseconds()) / 1000
}

// BenchmarkList: all pods (protobuf, RV=0), one namespace of 3,000 and the
// pods of one node by spec.nodeName, from the cache and from etcd.
func BenchmarkList(b *testing.B) {
	store := sharedStore(b)
	n := benchPods()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		b.Fatal(err)
	}
	ser := protobuf.NewSerializer(scheme, scheme)
	ctx := context.Background()
	cases := []struct {
		name string
		ns   string
		sel  cacher.Selection
		want int
	}{
		{"all", "", cacher.Selection{}, n},
		{"namespace", "ns-0", cacher.Selection{}, min(n, podsPerNamespace)},
		{"node", "", cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", "node-17")}, (n - 17 + benchNodes - 1) / benchNodes},
	}
	for src, list := range sources(b, store) {
		for _, tc := range cases {
			b.Run(tc.name+"/"+src, func(b *testing.B) {
				var buf bytes.Buffer
				var ds []time.Duration
				for b.Loop() {
					start := time.Now()
					res, err := list(ctx, tc.ns, tc.sel, storage.ListOptions{ResourceVersion: "0"})
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Items) != tc.want {
						b.Fatalf("listed %d, want %d", len(res.Items), tc.want)
					}
					encodeList(b, ser, &buf, res)
					ds = append(ds, time.Since(start))
				}
				b.ReportMetric(p99(ds), "p99-ms")
				b.ReportMetric(float64(buf.Len())/1e6, "MB/resp")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNodeWatchers: W watchers each filtered by spec.nodeName, pod
// status updates paced at up to 1,000/s through etcd. Reports delivery p99
// (etcd commit, i.e. the update returning, to the watcher receiving the
// event) and process CPU per update (etcd's write included), which should
// not grow with the number of non-matching watchers. The etcd source (one
// etcd watch per watcher) runs up to 1,000 watchers.
func BenchmarkNodeWatchers(b *testing.B) {
	store := sharedStore(b)
	n := benchPods()
	for _, src := range []string{"cache", "etcd"} {
		for _, watchers := range []int{100, 1000, 5000} {
			if src == "etcd" && watchers > 1000 {
				continue
			}
			b.Run(fmt.Sprintf("source=%s/watchers=%d", src, watchers), func(b *testing.B) {
				benchWatchers(b, store, n, src, watchers)
			})
		}
	}
}

func benchWatchers(b *testing.B, store *storage.Store, n int, src string, watchers int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c *cacher.Cacher
	if src == "cache" {
		c = startCache(b, store, nil)
	}
	// sent[i] is when pod i's latest update committed.
	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	var received atomic.Int64
	var wg sync.WaitGroup
	rev, _ := store.CurrentRevision(ctx)
	for w := range watchers {
		sel := cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", benchNode(w))}
		var ch <-chan storage.Event
		var err error
		if c != nil {
			ch, err = c.Watch(ctx, "", "", sel, storage.WatchOptions{ResourceVersion: rev})
		} else {
			ch, err = store.Watch(ctx, prefix, "Pod", storage.WatchOptions{ResourceVersion: rev, Recursive: true, Predicate: predicate(sel)})
		}
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			for ev := range ch {
				if ev.Type != watch.Modified {
					continue
				}
				now := time.Now()
				p := ev.Object.(*corev1.Pod)
				mu.Lock()
				if t, ok := sent[p.Name+"/"+p.ResourceVersion]; ok {
					lat = append(lat, now.Sub(t))
				}
				mu.Unlock()
				received.Add(1)
			}
		})
	}
	// Updates go to pods on watched nodes only, paced at 1,000/s.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	i := 0
	cpu0, updates := cpuTime(), 0
	for b.Loop() {
		<-tick.C
		// Node w holds pods w, w+benchNodes, ...: cycle through the watched
		// nodes and through each node's pods.
		w := i % min(watchers, n)
		idx := w + benchNodes*((i/watchers)%max(1, n/benchNodes))
		if idx >= n {
			idx = w
		}
		i++
		p := realisticPod(idx)
		p.Status.Message = "update " + strconv.Itoa(i)
		data, err := store.Codec().Encode(p)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := store.Client().Put(ctx, podKey(p.Namespace, p.Name), string(data))
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		sent[p.Name+"/"+strconv.FormatInt(resp.Header.Revision, 10)] = time.Now()
		mu.Unlock()
		updates++
	}
	cpu := cpuTime() - cpu0
	deadline := time.Now().Add(30 * time.Second)
	for received.Load() < int64(updates) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(p99(lat), "p99-delivery-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(updates, 1)), "cpu-us/update")
	b.ReportMetric(float64(received.Load())/float64(max(updates, 1)), "delivered/update")
}

// BenchmarkReconnect: W node watchers hold their last resourceVersion, the
// cache restarts (a new Cacher, as after an API server restart) while
// updates go on, and all reconnect at once: none may get 410 or need a
// list.
func BenchmarkReconnect(b *testing.B) {
	store := sharedStore(b)
	const watchers = 5000
	ctx := context.Background()
	for b.Loop() {
		rv, _ := store.CurrentRevision(ctx)
		for i := range 200 {
			p := realisticPod(i)
			p.Status.Message = "during restart " + strconv.Itoa(i)
			data, _ := store.Codec().Encode(p)
			if _, err := store.Client().Put(ctx, podKey(p.Namespace, p.Name), string(data)); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		c := startCache(b, store, nil)
		wctx, cancel := context.WithCancel(ctx)
		expired := 0
		for w := range watchers {
			sel := cacher.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", benchNode(w))}
			ch, err := c.Watch(wctx, "", "", sel, storage.WatchOptions{ResourceVersion: rv})
			if err != nil {
				b.Fatal(err)
			}
			select {
			case ev := <-ch:
				if ev.Type == watch.Error {
					expired++
				}
			default:
			}
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-resume")
		b.ReportMetric(float64(expired), "410s")
		cancel()
	}
}
