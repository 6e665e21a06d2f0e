package hollownode_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/hollownode"
)

// Environment of BenchmarkFleet:
//
//	KPLANE_BENCH_NODES       nodes in the fleet (default 500)
//	KPLANE_BENCH_PODS        pods created bound to them (default 5000)
//	KPLANE_BENCH_STEADY      window to measure idle CPU after registration (default 0: skip)
//	KPLANE_BENCH_START_LATENCY  simulated median container start latency
//	                         (default the fleet's 100ms; negative: start at
//	                         once, so the measured latency is the fleet's own
//	                         work plus its API writes)
//	KPLANE_BENCH_POD_WORKERS goroutines writing pod state (default the
//	                         fleet's 128)
//	KPLANE_BENCH_RATE        pods created per second (default 0: as fast as
//	                         64 writers get them in); pacing below the API
//	                         server's saturation makes the fleet-side latency
//	                         the simulator's, not the API server's queue
//	KPLANE_BENCH_KUBECONFIG  run against this cluster instead of an in-process
//	                         control plane, so /proc numbers are the fleet's
//	                         (plus the pod creator's) alone
func benchEnv(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// BenchmarkFleet registers a fleet, optionally measures it idle, then
// creates pods bound round-robin to its nodes (no scheduler involved) and
// waits for all to run. It reports registration throughput, idle CPU,
// process memory per node and per pod, and the fleet-side pod start
// latency (bound pod seen → Running written) at p50/p99 from the fleet's
// histogram. Run it with -benchtime=1x.
func BenchmarkFleet(b *testing.B) {
	nodes := benchEnv(b, "KPLANE_BENCH_NODES", 500)
	pods := benchEnv(b, "KPLANE_BENCH_PODS", 5000)
	steady, _ := time.ParseDuration(os.Getenv("KPLANE_BENCH_STEADY"))
	var rc *rest.Config
	if kc := os.Getenv("KPLANE_BENCH_KUBECONFIG"); kc != "" {
		c, err := clientcmd.BuildConfigFromFlags("", kc)
		if err != nil {
			b.Fatal(err)
		}
		rc = c
	} else {
		env, err := controllertest.StartControlPlane(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = env.Stop() })
		rc = env.AdminConfig
	}
	loader := rest.CopyConfig(rc)
	loader.QPS, loader.Burst = 2000, 4000
	admin, err := kubernetes.NewForConfig(loader)
	if err != nil {
		b.Fatal(err)
	}

	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("bench-%d-%d-", time.Now().Unix()%100000, i)
		reg := prometheus.NewRegistry()
		cfg := hollownode.Config{
			RESTConfig: rc, Count: nodes, NamePrefix: prefix, Metrics: reg,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		if v := os.Getenv("KPLANE_BENCH_START_LATENCY"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				b.Fatalf("KPLANE_BENCH_START_LATENCY: %v", err)
			}
			cfg.Pods.StartLatency = d
		}
		cfg.PodWorkers = benchEnv(b, "KPLANE_BENCH_POD_WORKERS", 0)
		f, err := hollownode.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		rss0 := rssBytes(b)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- f.Run(ctx) }()
		select {
		case <-f.Ready():
		case err := <-done:
			b.Fatalf("fleet stopped: %v", err)
		}
		took := time.Since(start)
		b.ReportMetric(took.Seconds(), "s-register")
		b.ReportMetric(float64(nodes)/took.Seconds(), "nodes/s")
		if steady > 0 {
			time.Sleep(10 * time.Second) // first renewals after registration
			cpu0, t0 := cpuSeconds(b), time.Now()
			time.Sleep(steady)
			b.ReportMetric((cpuSeconds(b)-cpu0)/time.Since(t0).Seconds(), "cores-idle")
		}
		runtime.GC()
		rssNodes := rssBytes(b)
		b.ReportMetric(float64(rssNodes)/1e6, "MB-rss-nodes")
		b.ReportMetric(float64(rssNodes-rss0)/float64(nodes), "B-rss/node")

		if pods > 0 {
			ns := strings.TrimSuffix(prefix, "-")
			if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			names := f.Nodes()
			podStart := time.Now()
			createPods(b, admin, ns, names, pods, float64(benchEnv(b, "KPLANE_BENCH_RATE", 0)))
			created := time.Since(podStart)
			for metricValue(b, reg, "hollow_node_running_pods") < float64(pods) {
				time.Sleep(200 * time.Millisecond)
			}
			all := time.Since(podStart)
			b.ReportMetric(float64(pods)/created.Seconds(), "pods/s-created")
			b.ReportMetric(float64(pods)/all.Seconds(), "pods/s-running")
			b.ReportMetric(histogramQuantile(b, reg, "hollow_node_pod_start_duration_seconds", "", 0.5), "s-start-p50")
			b.ReportMetric(histogramQuantile(b, reg, "hollow_node_pod_start_duration_seconds", "", 0.99), "s-start-p99")
			b.ReportMetric(histogramQuantile(b, reg, "hollow_node_api_write_duration_seconds", "pod_status", 0.99), "s-api-write-p99")
			runtime.GC()
			b.ReportMetric(float64(rssBytes(b)-rssNodes)/float64(pods), "B-rss/pod")
			if late := lateRenewals(b, reg, 40); late > 0 {
				b.Errorf("%v Lease renewals came more than 40s after the previous one", late)
			}
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// createPods creates n pods in ns bound round-robin to nodes, from 64
// goroutines; with rate > 0, pod i is created no earlier than i/rate
// seconds after the first.
func createPods(b *testing.B, c kubernetes.Interface, ns string, nodes []string, n int, rate float64) {
	first := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(first.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
				}
				p := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%d", i), Labels: map[string]string{"app": "bench"}},
					Spec: corev1.PodSpec{
						NodeName:   nodes[i%len(nodes)],
						Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
					},
				}
				for {
					_, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{})
					if err == nil {
						break
					}
					if failed.Add(1) > 1000 {
						b.Errorf("create pod: %v", err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
}

// rssBytes is this process's resident set size.
func rssBytes(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// cpuSeconds is this process's user+system CPU time.
func cpuSeconds(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// histogramQuantile interpolates quantile q of histogram name as
// Prometheus' histogram_quantile does.
// Of a histogram vector, the series with a label of value match counts.
func histogramQuantile(b *testing.B, reg *prometheus.Registry, name, match string, q float64) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var h *dto.Histogram
		for _, m := range mf.Metric {
			for _, l := range m.GetLabel() {
				if l.GetValue() == match {
					h = m.GetHistogram()
				}
			}
			if match == "" {
				h = m.GetHistogram()
			}
		}
		if h == nil {
			continue
		}
		total := float64(h.GetSampleCount())
		bs := h.GetBucket()
		sort.Slice(bs, func(i, j int) bool { return bs[i].GetUpperBound() < bs[j].GetUpperBound() })
		rank := q * total
		prevBound, prevCount := 0.0, 0.0
		for _, bk := range bs {
			c := float64(bk.GetCumulativeCount())
			if c >= rank {
				if c == prevCount {
					return bk.GetUpperBound()
				}
				return prevBound + (bk.GetUpperBound()-prevBound)*(rank-prevCount)/(c-prevCount)
			}
			prevBound, prevCount = bk.GetUpperBound(), c
		}
		return math.Inf(1)
	}
	return math.NaN()
}

// lateRenewals counts Lease renewal intervals above limit seconds.
func lateRenewals(b *testing.B, reg *prometheus.Registry, limit float64) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "hollow_node_lease_renew_interval_seconds" || len(mf.Metric) == 0 {
			continue
		}
		h := mf.Metric[0].GetHistogram()
		for _, bk := range h.GetBucket() {
			if bk.GetUpperBound() == limit {
				return float64(h.GetSampleCount()) - float64(bk.GetCumulativeCount())
			}
		}
	}
	return 0
}
