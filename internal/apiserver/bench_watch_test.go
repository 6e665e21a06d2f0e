package apiserver_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/controlplane"
)

// BenchmarkWatchFanOut measures one ConfigMap update delivered to 100
// JSON watches sharing one HTTP/2 connection, with the watch write timeout
// (default) and without it. Updates are sequential, so every event is a
// burst of its own, the most writes and flushes per event. ns/op is per
// update (all watchers served); cpu-µs/op is the whole process's CPU
// (client, server, etcd). Arming a write deadline per event had cost about
// 20% more CPU and 4 allocations per watcher and event here, which is why
// watchdeadline.go stamps writes and sweeps instead.
//
//	go test -run='^$' -bench=WatchFanOut -benchtime=2000x ./internal/apiserver/
func BenchmarkWatchFanOut(b *testing.B) {
	for _, bc := range []struct {
		name    string
		timeout time.Duration
	}{{"deadline", 0}, {"no-deadline", -1}} {
		b.Run(bc.name, func(b *testing.B) { benchWatchFanOut(b, bc.timeout) })
	}
}

func benchWatchFanOut(b *testing.B, timeout time.Duration) {
	const watchers = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir: b.TempDir(), Port: 0, EtcdUnsafeNoFsync: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), WatchWriteTimeout: timeout,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cp.Stop() }()
	cfg, err := cp.AdminConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1e6, 1e6
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		b.Fatal(err)
	}
	cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "fan"}, Data: map[string]string{"i": "0"}}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var received atomic.Int64
	var wg sync.WaitGroup
	url := cp.URL() + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=" + cm.ResourceVersion
	for range watchers {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			b.Fatalf("watch over %s, want HTTP/2", resp.Proto)
		}
		wg.Go(func() {
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				received.Add(1)
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := range b.N {
		cm.Data["i"] = strconv.Itoa(i + 1)
		if cm, err = cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N) * watchers
	deadline := time.Now().Add(itTimeout)
	for received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("watchers received %d of %d events", received.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if cpu := processCPU() - cpu0; cpu0 > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N)/1e3, "cpu-µs/op")
	}
	cancel()
	wg.Wait()
}
