package apiserver_test

// End-to-end request benchmarks: client-go → loopback HTTPS → kplane API
// server → embedded etcd, all in this one process. Run with
//
//	go test -run='^$' -bench=. -benchmem ./internal/apiserver/
//
// Each benchmark reports, besides ns/op:
//   - ops/s: completed requests per second of wall time (b.N / elapsed);
//   - cpu-µs/op: CPU time (user + system) of the whole process (client,
//     server and etcd) per request, which other processes' load on the
//     machine does not inflate as it does wall time;
//   - p50-ms, p99-ms: per-request latency percentiles measured around each
//     client call;
//   - B/op and allocs/op (ReportAllocs): these count the client AND the
//     server, since both run in this process, so they are an upper bound for
//     the server's own allocations, not a server-only figure.
//
// etcd runs with fsync on (its production default), so create and update
// include a WAL fsync; -kplane.nofsync switches to etcd's UnsafeNoFsync to
// see the CPU-bound cost. Parallel variants use 8×GOMAXPROCS goroutines
// sharing one clientset (one HTTP/2 connection), as controllers do; their
// ns/op is wall time divided by requests, i.e. 1/throughput.
//
// The json clients set ContentType explicitly: client-go v0.37 typed
// clients otherwise speak protobuf to built-in types. Every response's
// Content-Type is checked against what its client asked for.
//
// The control plane starts lazily on the first benchmark that needs it and
// is stopped by TestMain, so `go test` without -bench starts nothing.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/controlplane"
	"kplane/internal/testutil"
)

var benchNoFsync = flag.Bool("kplane.nofsync", false, "run the benchmark control plane's etcd with UnsafeNoFsync")

// benchCluster is the one control plane of a benchmark process.
type benchCluster struct {
	cp *controlplane.ControlPlane
	// clients by wire format: "json" and "protobuf".
	clients map[string]*kubernetes.Clientset
	dir     string
	// wrongFormat counts responses in a format other than requested.
	wrongFormat atomic.Int64

	mu sync.Mutex // guards filled
	// filled records namespaces already holding n pods, by n.
	filled map[int]string
}

// benchState is the lazily started cluster; TestMain stops it.
var benchState struct {
	once    sync.Once
	cluster *benchCluster
	err     error
}

// TestMain stops the benchmark control plane after all tests and
// benchmarks ran. If another file of this package needs its own TestMain,
// merge them and keep the stopBenchCluster call.
func TestMain(m *testing.M) {
	code := m.Run()
	stopBenchCluster()
	os.Exit(code)
}

// stopBenchCluster stops the control plane if a benchmark started one and
// removes its data directory.
func stopBenchCluster() {
	c := benchState.cluster
	if c == nil {
		return
	}
	if err := c.cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop benchmark control plane: %v\n", err)
	}
	_ = os.RemoveAll(c.dir)
}

// benchFormats are the client wire benchFormats every benchmark runs with.
var benchFormats = []string{"json", "protobuf"}

func benchClusterFor(b *testing.B) *benchCluster {
	b.Helper()
	benchState.once.Do(func() { benchState.cluster, benchState.err = startBenchCluster() })
	if benchState.err != nil {
		b.Fatalf("start control plane: %v", benchState.err)
	}
	return benchState.cluster
}

func startBenchCluster() (*benchCluster, error) {
	dir, err := os.MkdirTemp("", "kplane-bench-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir: dir, Port: 0, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		EtcdUnsafeNoFsync: *benchNoFsync,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	c := &benchCluster{cp: cp, dir: dir, clients: map[string]*kubernetes.Clientset{}, filled: map[int]string{}}
	fail := func(err error) (*benchCluster, error) {
		_ = cp.Stop()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for _, f := range benchFormats {
		cfg, err := cp.AdminConfig()
		if err != nil {
			return fail(err)
		}
		cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling
		// client-go v0.37 typed clients speak protobuf to built-in types
		// unless ContentType is set, so JSON must be asked for explicitly.
		want := "application/json"
		if f == "protobuf" {
			want = "application/vnd.kubernetes.protobuf"
			cfg.ContentType = want
			cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
		} else {
			cfg.ContentType, cfg.AcceptContentTypes = want, want
		}
		cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
			return &formatCheck{rt: rt, want: want, wrong: &c.wrongFormat}
		}
		if c.clients[f], err = kubernetes.NewForConfig(cfg); err != nil {
			return fail(err)
		}
	}
	for _, ns := range []string{"bench-create", "bench-update"} {
		if err := c.namespace(ctx, ns); err != nil {
			return fail(err)
		}
	}
	// The per-format numbers mean nothing if a client got the other format.
	for _, f := range benchFormats {
		if _, err := c.clients[f].CoreV1().Pods("bench-create").List(ctx, metav1.ListOptions{}); err != nil {
			return fail(fmt.Errorf("%s list: %w", f, err))
		}
	}
	if err := c.checkFormats(); err != nil {
		return fail(err)
	}
	return c, nil
}

// formatCheck counts 2xx responses whose Content-Type is not the one its
// client asked for.
type formatCheck struct {
	rt    http.RoundTripper
	want  string
	wrong *atomic.Int64
}

func (f *formatCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.rt.RoundTrip(r)
	if err == nil && resp.StatusCode < 300 && !strings.HasPrefix(resp.Header.Get("Content-Type"), f.want) {
		f.wrong.Add(1)
	}
	return resp, err
}

func (c *benchCluster) checkFormats() error {
	if n := c.wrongFormat.Load(); n > 0 {
		return fmt.Errorf("%d responses came in a format the client did not ask for", n)
	}
	return nil
}

func (c *benchCluster) namespace(ctx context.Context, name string) error {
	_, err := c.clients["json"].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// podsIn returns a namespace holding n pods with full status (created and
// then status-updated), creating it on first use with 16 workers.
func (c *benchCluster) podsIn(b *testing.B, n int) string {
	b.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if ns, ok := c.filled[n]; ok {
		return ns
	}
	ctx := context.Background()
	ns := fmt.Sprintf("bench-list-%d", n)
	if err := c.namespace(ctx, ns); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	client := c.clients["protobuf"].CoreV1().Pods(ns)
	var (
		wg       sync.WaitGroup
		next     atomic.Int64
		firstErr error
		errOnce  sync.Once
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				full := benchPod(ns, benchPodName(i), i)
				created, err := client.Create(ctx, benchPodForCreate(full), metav1.CreateOptions{})
				if err == nil {
					created.Status = full.Status
					_, err = client.UpdateStatus(ctx, created, metav1.UpdateOptions{})
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("fill %s with pod %d: %w", ns, i, err) })
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.Logf("created %d pods with status in %s in %s", n, ns, time.Since(start).Round(time.Millisecond))
	for _, f := range benchFormats {
		raw, err := c.clients[f].CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").Name(benchPodName(0)).Do(ctx).Raw()
		if err != nil {
			b.Fatalf("get %s as %s: %v", benchPodName(0), f, err)
		}
		b.Logf("one pod as served in %s: %d bytes", f, len(raw))
	}
	c.filled[n] = ns
	return ns
}

func benchPodName(i int) string { return fmt.Sprintf("web-6d5f8c7b9d-%05d", i) }

// benchPod is the shared realistic pod (testutil.RealisticPod): about 2 KB
// of protobuf; as served, the managedFields the server adds (one entry for
// the create, one for the status update) grow it to about 5 KB of protobuf
// or 7 KB of JSON (logged when filled).
func benchPod(ns, name string, i int) *corev1.Pod { return testutil.RealisticPod(ns, name, i) }

// benchPodForCreate drops the status a create request would not carry (the
// server resets it anyway).
func benchPodForCreate(p *corev1.Pod) *corev1.Pod {
	out := *p
	out.Status = corev1.PodStatus{}
	return &out
}

// benchLatencies collects one duration per operation without allocating in the
// timed loop; safe for concurrent record calls.
type benchLatencies struct {
	d []time.Duration
	n atomic.Int64
}

func newBenchLatencies(n int) *benchLatencies { return &benchLatencies{d: make([]time.Duration, n)} }

func (l *benchLatencies) record(d time.Duration) {
	if i := l.n.Add(1) - 1; int(i) < len(l.d) {
		l.d[i] = d
	}
}

// report stops the timer and adds ops/s, p50-ms and p99-ms.
func (l *benchLatencies) report(b *testing.B) {
	b.StopTimer()
	n := min(int(l.n.Load()), len(l.d))
	if n == 0 {
		return
	}
	d := l.d[:n]
	slices.Sort(d)
	pct := func(p float64) float64 {
		return float64(d[min(n-1, int(float64(n)*p))]) / float64(time.Millisecond)
	}
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "ops/s")
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// timed runs op b.N times, serially or from 8×GOMAXPROCS goroutines, and
// reports latency percentiles and throughput.
func benchTimed(b *testing.B, parallel bool, op func(ctx context.Context, i int) error) {
	ctx := context.Background()
	lat := newBenchLatencies(b.N)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	if parallel {
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(seq.Add(1))
				t := time.Now()
				if err := op(ctx, i); err != nil {
					b.Error(err)
					return
				}
				lat.record(time.Since(t))
			}
		})
	} else {
		for i := range b.N {
			t := time.Now()
			if err := op(ctx, i); err != nil {
				b.Fatal(err)
			}
			lat.record(time.Since(t))
		}
	}
	if cpu := processCPU() - cpu0; cpu0 > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N)/1e3, "cpu-µs/op")
	}
	lat.report(b)
	if err := benchState.cluster.checkFormats(); err != nil {
		b.Fatal(err)
	}
}

// benchRunID makes object names unique across the b.N rounds and -count runs of
// one process.
var benchRunID atomic.Int64

func benchCreate(b *testing.B, parallel bool) {
	c := benchClusterFor(b)
	for _, f := range benchFormats {
		b.Run(f, func(b *testing.B) {
			pods := c.clients[f].CoreV1().Pods("bench-create")
			tmpl := benchPodForCreate(benchPod("bench-create", "", 0))
			prefix := fmt.Sprintf("web-%s-%d-", f, benchRunID.Add(1))
			benchTimed(b, parallel, func(ctx context.Context, i int) error {
				p := *tmpl // shallow copy: the client only reads it
				p.Name = prefix + fmt.Sprint(i)
				_, err := pods.Create(ctx, &p, metav1.CreateOptions{})
				return err
			})
		})
	}
}

// BenchmarkCreatePod creates one pod per op, one request at a time.
func BenchmarkCreatePod(b *testing.B) { benchCreate(b, false) }

// BenchmarkCreatePodParallel creates pods from concurrent goroutines.
func BenchmarkCreatePodParallel(b *testing.B) { benchCreate(b, true) }

func benchGet(b *testing.B, parallel bool) {
	c := benchClusterFor(b)
	const n = 1000
	ns := c.podsIn(b, n)
	for _, f := range benchFormats {
		b.Run(f, func(b *testing.B) {
			pods := c.clients[f].CoreV1().Pods(ns)
			benchTimed(b, parallel, func(ctx context.Context, i int) error {
				name := benchPodName(i % n)
				p, err := pods.Get(ctx, name, metav1.GetOptions{})
				if err == nil && p.Name != name {
					err = fmt.Errorf("got pod %q, want %q", p.Name, name)
				}
				return err
			})
		})
	}
}

// BenchmarkGetPod reads pods round-robin from a namespace of 1,000.
func BenchmarkGetPod(b *testing.B) { benchGet(b, false) }

// BenchmarkGetPodParallel reads pods from concurrent goroutines.
func BenchmarkGetPodParallel(b *testing.B) { benchGet(b, true) }

// BenchmarkUpdatePod replaces one pod per op with a changed label, sending
// the resourceVersion the previous update returned (the optimistic
// concurrency path controllers use).
func BenchmarkUpdatePod(b *testing.B) {
	c := benchClusterFor(b)
	for _, f := range benchFormats {
		b.Run(f, func(b *testing.B) {
			pods := c.clients[f].CoreV1().Pods("bench-update")
			ctx := context.Background()
			name := fmt.Sprintf("web-%s-%d", f, benchRunID.Add(1))
			cur, err := pods.Create(ctx, benchPodForCreate(benchPod("bench-update", name, 0)), metav1.CreateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			benchTimed(b, false, func(ctx context.Context, i int) error {
				cur.Labels["generation"] = fmt.Sprint(i)
				next, err := pods.Update(ctx, cur, metav1.UpdateOptions{})
				if err != nil {
					return err
				}
				if next.ResourceVersion == cur.ResourceVersion {
					return errors.New("update did not change the resourceVersion")
				}
				cur = next
				return nil
			})
		})
	}
}

// BenchmarkListPods lists every pod of a namespace in one request (no
// limit), for 1,000 and 10,000 pods.
func BenchmarkListPods(b *testing.B) {
	c := benchClusterFor(b)
	for _, size := range []struct {
		name string
		n    int
	}{{"1k", 1000}, {"10k", 10000}} {
		b.Run(size.name, func(b *testing.B) {
			ns := c.podsIn(b, size.n)
			for _, f := range benchFormats {
				b.Run(f, func(b *testing.B) {
					pods := c.clients[f].CoreV1().Pods(ns)
					benchTimed(b, false, func(ctx context.Context, _ int) error {
						list, err := pods.List(ctx, metav1.ListOptions{})
						if err == nil && len(list.Items) != size.n {
							err = fmt.Errorf("listed %d pods, want %d", len(list.Items), size.n)
						}
						return err
					})
				})
			}
		})
	}
}
