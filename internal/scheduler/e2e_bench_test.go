package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	watchtools "k8s.io/client-go/tools/watch"

	"kplane/internal/controlplane"
	"kplane/internal/leaderelection"
)

// e2eBenchWorkers is how many goroutines create nodes and pods, like a
// handful of busy controllers writing at once.
const e2eBenchWorkers = 32

// e2eBenchGroups is how many ReplicaSet-like groups the pods belong to;
// it bounds the equivalence classes the scheduler can share work across.
const e2eBenchGroups = 200

// e2eBenchPodPrefix names the benchmark's pods; the suffix is the pod's
// index into the timing slices.
const e2eBenchPodPrefix = "e2e-"

// BenchmarkSchedulingThroughputAPI measures the real scheduler end to end
// against an in-process control plane: pods are created through the API
// and bound through pods/binding, so the numbers include API server,
// etcd, watch fan-out and the scheduler's informers, not only the
// algorithm (BenchmarkScheduleAlgorithm covers that alone).
//
// It is one long run, not a per-op loop; run it with -benchtime=1x:
//
//	KPLANE_SCHED_BENCH_NODES=5000 KPLANE_SCHED_BENCH_PODS=30000 \
//	  go test ./internal/scheduler/ -run '^$' -bench BenchmarkSchedulingThroughputAPI -benchtime=1x -timeout 30m
//
// By default pods are created as fast as the API server takes them, which
// measures throughput but makes latency mostly queueing. With
// KPLANE_SCHED_BENCH_RATE=1000 pod i is created at start+i/1000s (paced
// arrivals, as a density test's RCs produce), so p50/p99 are the latency
// at that sustained rate; the benchmark logs whether creation kept up.
//
// Metrics: pods/s bound from the first create to the last binding seen
// on the watch; p50-ms/p99-ms per-pod latency from the client-side start
// of its create to the watch delivering spec.nodeName; goroutines and
// heap-in-use (whole process: etcd, API server, scheduler and the
// benchmark's informer) before the pods are created and after all are
// bound. ns/op covers the pod phase only.
func BenchmarkSchedulingThroughputAPI(b *testing.B) {
	nodes := e2eBenchEnvInt(b, "KPLANE_SCHED_BENCH_NODES", 5000)
	pods := e2eBenchEnvInt(b, "KPLANE_SCHED_BENCH_PODS", 30000)
	if b.N > 1 {
		b.Logf("b.N=%d ignored: this benchmark is a single run, use -benchtime=1x", b.N)
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: b.TempDir(), Port: 0, Logger: quiet,
		EtcdUnsafeNoFsync: true, DisableUpdateManagedFields: true})
	if err != nil {
		b.Fatal(err)
	}
	defer cp.Stop()
	admin, err := cp.AdminConfig()
	if err != nil {
		b.Fatal(err)
	}
	admin.QPS, admin.Burst = 100000, 200000
	cs := kubernetes.NewForConfigOrDie(admin)

	start := time.Now()
	if err := e2eBenchParallel(ctx, nodes, func(i int) error { return e2eBenchCreateNode(ctx, cs, i) }); err != nil {
		b.Fatalf("create nodes: %v", err)
	}
	b.Logf("created %d nodes in %s", nodes, time.Since(start).Round(time.Millisecond))

	rc, err := clientcmd.BuildConfigFromFlags("", cp.SchedulerKubeconfig())
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{RESTConfig: rc, Logger: quiet, LeaderElection: leaderelection.Options{Disable: true}, QPS: 100000, Burst: 200000})
	if err != nil {
		b.Fatal(err)
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(schedCtx) }()
	defer func() {
		stopSched()
		if err := <-done; err != nil {
			b.Errorf("scheduler Run: %v", err)
		}
	}()
	select {
	case <-s.Ready():
	case err := <-done:
		b.Fatalf("scheduler stopped before ready: %v", err)
	case <-ctx.Done():
		b.Fatal("scheduler not ready")
	}
	// Synced informers may still be delivering to the cache's handlers.
	for s.cache.NodeCount() != nodes {
		if ctx.Err() != nil {
			b.Fatalf("scheduler cache has %d nodes, want %d", s.cache.NodeCount(), nodes)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// created and bound hold client-side UnixNano per pod index: the
	// PodScheduled condition only has second resolution.
	created := make([]atomic.Int64, pods)
	bound := make([]atomic.Int64, pods)
	var boundCount atomic.Int64
	allBound := make(chan struct{})
	observe := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" || !strings.HasPrefix(p.Name, e2eBenchPodPrefix) {
			return
		}
		i, err := strconv.Atoi(strings.TrimPrefix(p.Name, e2eBenchPodPrefix))
		if err != nil || i < 0 || i >= pods {
			return
		}
		if bound[i].CompareAndSwap(0, time.Now().UnixNano()) && boundCount.Add(1) == int64(pods) {
			close(allBound)
		}
	}
	// A plain watch, not an informer: the observer keeps no copy of the
	// pods, so it adds decode work but not a third cache of 150,000 pods
	// to the process under test.
	list, err := cs.CoreV1().Pods(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	rw, err := watchtools.NewRetryWatcherWithContext(watchCtx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Pods(metav1.NamespaceDefault).Watch(ctx, o)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for ev := range rw.ResultChan() {
			if ev.Type == watch.Added || ev.Type == watch.Modified {
				observe(ev.Object)
			}
		}
	}()
	defer func() { stopWatch(); rw.Stop(); <-watchDone }()

	rate := e2eBenchRate(b, "KPLANE_SCHED_BENCH_RATE")
	goroutinesBefore, heapBefore := e2eBenchRuntime()
	b.StartTimer()
	first := time.Now()
	createErr := make(chan error, 1)
	go func() {
		createErr <- e2eBenchParallel(ctx, pods, func(i int) error {
			if rate > 0 {
				// Workers take indices in order, so each waits for its
				// pod's arrival time; a late worker creates at once.
				due := first.Add(time.Duration(float64(i) * float64(time.Second) / rate))
				if d := time.Until(due); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return ctx.Err()
					}
				}
			}
			created[i].Store(time.Now().UnixNano())
			_, err := cs.CoreV1().Pods(metav1.NamespaceDefault).Create(ctx, e2eBenchPod(i), metav1.CreateOptions{})
			return err
		})
	}()
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	for waiting := true; waiting; {
		select {
		case <-allBound:
			waiting = false
		case err := <-createErr:
			if err != nil {
				b.Fatalf("create pods: %v", err)
			}
			took := time.Since(first)
			b.Logf("all %d pods created after %s (%.0f pods/s offered)", pods, took.Round(time.Millisecond), float64(pods)/took.Seconds())
			createErr = nil
		case <-progress.C:
			a, bo, u := s.queue.Lens()
			b.Logf("%s: %d/%d bound (queue active=%d backoff=%d unschedulable=%d)",
				time.Since(first).Round(time.Second), boundCount.Load(), pods, a, bo, u)
		case <-ctx.Done():
			b.Fatalf("timed out: %d/%d pods bound", boundCount.Load(), pods)
		}
	}
	var last int64
	for i := range bound {
		last = max(last, bound[i].Load())
	}
	elapsed := time.Duration(last - first.UnixNano())
	b.StopTimer()
	goroutinesAfter, heapAfter := e2eBenchRuntime()

	lat := make([]float64, pods)
	for i := range lat {
		lat[i] = float64(bound[i].Load()-created[i].Load()) / float64(time.Millisecond)
	}
	e2eBenchLogWindows(b, first, created, lat, 15*time.Second)
	slices.Sort(lat)
	b.ReportMetric(float64(pods)/elapsed.Seconds(), "pods/s")
	b.ReportMetric(e2eBenchPercentile(lat, 0.50), "p50-ms")
	b.ReportMetric(e2eBenchPercentile(lat, 0.99), "p99-ms")
	b.ReportMetric(float64(goroutinesBefore), "goroutines-before")
	b.ReportMetric(float64(goroutinesAfter), "goroutines-after")
	b.ReportMetric(float64(heapBefore)/(1<<20), "heap-MiB-before")
	b.ReportMetric(float64(heapAfter)/(1<<20), "heap-MiB-after")
	b.Logf("%d nodes, %d pods: all bound in %s", nodes, pods, elapsed.Round(time.Millisecond))
}

// e2eBenchEnvInt reads a positive size from the environment.
func e2eBenchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// e2eBenchRate reads an arrival rate in pods/s from the environment; 0
// (unset) means as fast as possible.
func e2eBenchRate(b *testing.B, name string) float64 {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || r < 0 {
		b.Fatalf("%s=%q: want a non-negative number of pods per second", name, v)
	}
	return r
}

// e2eBenchParallel runs fn for 0..n-1 on e2eBenchWorkers goroutines and
// returns the first error; the remaining work is abandoned after one.
func e2eBenchParallel(ctx context.Context, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	for range e2eBenchWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("item %d: %w", i, err); cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// e2eBenchCreateNode creates a Ready 32-core, 128GiB, 110-pod node in one
// of 3 zones, setting status through the status subresource when create
// dropped it.
func e2eBenchCreateNode(ctx context.Context, cs kubernetes.Interface, i int) error {
	name := fmt.Sprintf("node-%05d", i)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	now := metav1.Now()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": fmt.Sprintf("zone-%d", i%3),
		}},
		Status: corev1.NodeStatus{
			Capacity: capacity, Allocatable: capacity,
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue,
				Reason: "KubeletReady", Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now}},
		},
	}
	created, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create node %s: %w", name, err)
	}
	if created.Status.Allocatable.Cpu().IsZero() {
		created.Status = n.Status
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("node %s status: %w", name, err)
		}
	}
	return nil
}

// e2eBenchPod is pod i, owned by one of e2eBenchGroups ReplicaSets (which
// need not exist: nothing here garbage-collects), so system default
// spreading and equivalence classes apply as they would for real
// workloads. Requests are small enough that every pod fits.
func e2eBenchPod(i int) *corev1.Pod {
	g := i % e2eBenchGroups
	ctrl := true
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s%06d", e2eBenchPodPrefix, i), Labels: map[string]string{"app": fmt.Sprintf("group-%d", g)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: fmt.Sprintf("group-%d", g),
				UID: types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", g)), Controller: &ctrl}},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(50+g%4*25), resource.DecimalSI),
				corev1.ResourceMemory: *resource.NewQuantity(int64(64+g%4*32)<<20, resource.BinarySI),
			}}}}},
	}
}

// e2eBenchRuntime returns the goroutine count and heap in use after a GC.
func e2eBenchRuntime() (int, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// e2eBenchPercentile picks the q-th quantile of sorted values.
func e2eBenchPercentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// e2eBenchLogWindows logs p50/p99/max latency of the pods created in each
// window of the run, which shows whether the tail is steady or comes from
// a few stalls (GC, etcd snapshots).
func e2eBenchLogWindows(b *testing.B, first time.Time, created []atomic.Int64, lat []float64, window time.Duration) {
	byWindow := map[int][]float64{}
	for i := range lat {
		w := int(time.Duration(created[i].Load()-first.UnixNano()) / window)
		byWindow[w] = append(byWindow[w], lat[i])
	}
	for w := 0; w < len(byWindow); w++ {
		l := byWindow[w]
		slices.Sort(l)
		if len(l) == 0 {
			continue
		}
		b.Logf("created %s-%s: %d pods, p50 %.0f ms, p99 %.0f ms, max %.0f ms", time.Duration(w)*window, time.Duration(w+1)*window,
			len(l), e2eBenchPercentile(l, 0.5), e2eBenchPercentile(l, 0.99), l[len(l)-1])
	}
}
