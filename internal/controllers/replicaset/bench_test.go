package replicaset_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// requestCounter counts the controller manager's API requests by verb.
type requestCounter struct {
	mu     sync.Mutex // guards byVerb
	byVerb map[string]int
	total  atomic.Int64
}

func (rc *requestCounter) reset() {
	rc.mu.Lock()
	rc.byVerb = map[string]int{}
	rc.mu.Unlock()
	rc.total.Store(0)
}

func (rc *requestCounter) wrap(cfg rest.Config) rest.Config {
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			verb := r.Method
			if r.Method == http.MethodGet && r.URL.Query().Get("watch") == "true" {
				verb = "WATCH"
			}
			kind := "other"
			for _, k := range []string{"/events", "/pods", "/replicationcontrollers"} {
				if strings.Contains(r.URL.Path, k) {
					kind = strings.TrimPrefix(k, "/")
					if strings.HasSuffix(r.URL.Path, "/status") {
						kind += "/status"
					}
					break
				}
			}
			rc.mu.Lock()
			rc.byVerb[verb+" "+kind]++
			rc.mu.Unlock()
			rc.total.Add(1)
			return rt.RoundTrip(r)
		})
	}
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkManyReplicationControllers creates RCs at once (default 300 × 50
// replicas; KPLANE_RC_BENCH=<rcs>x<replicas> overrides; KPLANE_RC_BENCH_QPS
// sets the manager's client QPS, default the manager's 200) and measures how
// fast the replicationcontroller controller creates every pod, and how
// many API requests it makes per pod. Run with -benchtime=1x.
func BenchmarkManyReplicationControllers(b *testing.B) {
	rcs, per := 300, 50
	if v := os.Getenv("KPLANE_RC_BENCH"); v != "" {
		if _, err := fmt.Sscanf(v, "%dx%d", &rcs, &per); err != nil {
			b.Fatalf("KPLANE_RC_BENCH=%q: want <rcs>x<replicas>", v)
		}
	}
	var qps float32
	if v := os.Getenv("KPLANE_RC_BENCH_QPS"); v != "" {
		if _, err := fmt.Sscanf(v, "%g", &qps); err != nil {
			b.Fatalf("KPLANE_RC_BENCH_QPS=%q: %v", v, err)
		}
	}
	counter := &requestCounter{byVerb: map[string]int{}}
	c, stop, err := newCluster(b.TempDir(), counter.wrap, true, qps)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	ctx := context.Background()
	want := rcs * per
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := c.Namespace(b, fmt.Sprintf("bench-%d", i))
		pc := c.countPods(b, ns)
		counter.reset()
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := int(next.Add(1)) - 1; j < rcs; j = int(next.Add(1)) - 1 {
					name := fmt.Sprintf("rc-%04d", j)
					if _, err := c.admin.CoreV1().ReplicationControllers(ns).Create(ctx, replicationController(ns, name, int32(per), name), metav1.CreateOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Minute, true, func(context.Context) (bool, error) {
			return pc.total() >= want, nil
		})
		elapsed := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("%d of %d pods after %s", pc.total(), want, elapsed)
		}
		// Let status writes and events settle, then check duplicates.
		settle := time.Now()
		_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := c.admin.CoreV1().ReplicationControllers(ns).List(ctx, metav1.ListOptions{ResourceVersion: "0"})
			if err != nil {
				return false, nil
			}
			for _, rc := range list.Items {
				if rc.Status.Replicas != int32(per) {
					return false, nil
				}
			}
			return true, nil
		})
		if got := pc.total(); got != want {
			b.Errorf("%d pods created, want %d (duplicates)", got, want)
		}
		for _, p := range pc.live() {
			if _, n := controllerOf(p); n != 1 {
				b.Errorf("pod %s has %d controller references", p.Name, n)
				break
			}
		}
		total := counter.total.Load()
		b.ReportMetric(float64(want)/elapsed.Seconds(), "pods/s")
		b.ReportMetric(float64(total)/float64(want), "requests/pod")
		counter.mu.Lock()
		var lines []string
		for k, v := range counter.byVerb {
			lines = append(lines, fmt.Sprintf("%s=%d", k, v))
		}
		counter.mu.Unlock()
		sort.Strings(lines)
		b.Logf("%d RCs x %d: %d pods in %s (%.0f pods/s); settled %s later; %d controller requests (%.2f/pod): %s",
			rcs, per, want, elapsed.Round(time.Millisecond), float64(want)/elapsed.Seconds(), time.Since(settle).Round(time.Millisecond),
			total, float64(total)/float64(want), strings.Join(lines, " "))
	}
}
