package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/controlplane"
)

// TestWatchClientStopsReading opens a client-go watch over HTTP/2 and over
// HTTP/1.1 and never reads it while large objects are created, so the
// server's writes block on full flow-control windows and socket buffers.
// The watch write timeout must end that watch (counted as write_timeout),
// unregister it, and leave a watcher that reads receiving every event.
func TestWatchClientStopsReading(t *testing.T) {
	reg := prometheus.NewRegistry()
	cp := startControlPlane(t, controlplane.Config{Metrics: reg, WatchWriteTimeout: time.Second})
	cs, _ := adminClientset(t, cp)
	ctx := context.Background()
	const ns = "stall"
	createNamespace(t, cs, ns)
	watchers := func() float64 {
		return metricValue(t, reg, "apiserver_registered_watchers", map[string]string{"resource": "configmaps"})
	}
	// About 12 MiB of events: more than an HTTP/2 stream window (4 MiB in
	// client-go) plus socket buffers on both sides.
	big := strings.Repeat("x", 256<<10)
	const perRun = 48
	base := watchers()

	for i, tc := range []struct {
		name   string
		protos []string
		major  int
	}{
		{"http2", []string{"h2", "http/1.1"}, 2},
		{"http1", []string{"http/1.1"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			timedOut := func() float64 {
				return metricValue(t, reg, "apiserver_watch_terminated_total", map[string]string{"resource": "configmaps", "reason": "write_timeout"})
			}
			timeoutsBefore := timedOut()

			stalled := protoClient(t, cp, tc.protos, tc.major)
			sw, err := stalled.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				t.Fatalf("stalled watch: %v", err)
			}
			defer sw.Stop() // never read
			rw, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				t.Fatalf("reading watch: %v", err)
			}
			defer func() {
				// The next case counts from the same baseline.
				rw.Stop()
				waitFor(t, "reading watch unregistered", func() bool { return watchers() == base })
			}()
			waitFor(t, "both watches registered", func() bool { return watchers() == base+2 })

			seen := make(chan string, 2*perRun)
			go func() {
				for ev := range rw.ResultChan() {
					if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added {
						seen <- cm.Name
					}
				}
			}()
			names := map[string]bool{}
			for j := range perRun {
				name := fmt.Sprintf("big-%d-%d", i, j)
				names[name] = true
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"d": big}}
				if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
					t.Fatalf("create %s: %v", name, err)
				}
			}
			waitFor(t, "stalled watch ended by the write timeout", func() bool {
				return timedOut() > timeoutsBefore && watchers() == base+1
			})

			// The reader got every object, and still gets new ones.
			after := fmt.Sprintf("after-%d", i)
			names[after] = true
			if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: after}}, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create %s: %v", after, err)
			}
			deadline := time.After(itTimeout)
			for len(names) > 0 {
				select {
				case name := <-seen:
					delete(names, name)
				case <-deadline:
					t.Fatalf("reading watch is missing %d objects", len(names))
				}
			}
		})
	}
}

// protoClient is an admin clientset whose connections offer only protos,
// checked to negotiate HTTP major version major.
func protoClient(t *testing.T, cp *controlplane.ControlPlane, protos []string, major int) kubernetes.Interface {
	t.Helper()
	cfg, err := cp.AdminConfig()
	if err != nil {
		t.Fatalf("admin config: %v", err)
	}
	cfg.TLSClientConfig.NextProtos = protos
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatalf("http client: %v", err)
	}
	t.Cleanup(hc.CloseIdleConnections)
	resp, err := hc.Get(cp.URL() + "/version")
	if err != nil {
		t.Fatalf("GET /version: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != major || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /version: %s %d, want HTTP/%d 200", resp.Proto, resp.StatusCode, major)
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		t.Fatalf("clientset: %v", err)
	}
	return cs
}

// metricValue sums the samples of the named counter or gauge whose labels
// include want.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// waitFor polls cond until it holds or itTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, itTimeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
