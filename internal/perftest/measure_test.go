package perftest

import (
	"context"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"kplane/internal/perftest/report"
)

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	bounds := []float64{0.1, 0.5, 1, inf}
	for _, tc := range []struct {
		name string
		cum  []uint64
		q    float64
		want float64
	}{
		{"empty", []uint64{0, 0, 0, 0}, 0.99, 0},
		{"all in first bucket interpolates from zero", []uint64{10, 10, 10, 10}, 0.5, 0.05},
		{"p99 in second bucket", []uint64{50, 100, 100, 100}, 0.99, 0.1 + 0.4*(99-50)/50.0},
		{"rank in +Inf returns highest finite bound", []uint64{0, 0, 0, 10}, 0.5, 1},
		{"p50 on a bucket edge", []uint64{5, 10, 10, 10}, 0.5, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := histogramQuantile(tc.q, bounds, tc.cum); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQuantilesNearestRank(t *testing.T) {
	var s []float64
	for i := 100; i >= 1; i-- {
		s = append(s, float64(i))
	}
	q := quantiles(s)
	if q.Count != 100 || q.P50 != 50 || q.P90 != 90 || q.P99 != 99 || q.Max != 100 {
		t.Errorf("quantiles = %+v", q)
	}
	if c := cdf(s, 10); len(c) != 10 || c[len(c)-1].Fraction != 1 || c[0].Seconds != 10 {
		t.Errorf("cdf = %+v", c)
	}
}

// metricsAt is the latency histogram as kplane and upstream expose it:
// the same endpoint split by client, which the report sums.
func metricsAt(getCount, getLow, listCount int) string {
	return `# HELP apiserver_request_duration_seconds x
# TYPE apiserver_request_duration_seconds histogram
apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="kubectl",le="0.1"} ` + itoa(getLow) + `
apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="kubectl",le="1"} ` + itoa(getCount) + `
apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="kubectl",le="+Inf"} ` + itoa(getCount) + `
apiserver_request_duration_seconds_sum{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="kubectl"} 1
apiserver_request_duration_seconds_count{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="kubectl"} ` + itoa(getCount) + `
apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="scheduler",le="0.1"} 7
apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="scheduler",le="1"} 7
apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="scheduler",le="+Inf"} 7
apiserver_request_duration_seconds_sum{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="scheduler"} 0.1
apiserver_request_duration_seconds_count{verb="GET",dry_run="",group="",version="v1",resource="pods",subresource="",scope="resource",component="apiserver",client="scheduler"} 7
apiserver_request_duration_seconds_bucket{verb="LIST",dry_run="",group="",version="v1",resource="nodes",subresource="",scope="cluster",component="apiserver",client="kubectl",le="0.1"} ` + itoa(listCount) + `
apiserver_request_duration_seconds_bucket{verb="LIST",dry_run="",group="",version="v1",resource="nodes",subresource="",scope="cluster",component="apiserver",client="kubectl",le="1"} ` + itoa(listCount) + `
apiserver_request_duration_seconds_bucket{verb="LIST",dry_run="",group="",version="v1",resource="nodes",subresource="",scope="cluster",component="apiserver",client="kubectl",le="+Inf"} ` + itoa(listCount) + `
apiserver_request_duration_seconds_sum{verb="LIST",dry_run="",group="",version="v1",resource="nodes",subresource="",scope="cluster",component="apiserver",client="kubectl"} 0.1
apiserver_request_duration_seconds_count{verb="LIST",dry_run="",group="",version="v1",resource="nodes",subresource="",scope="cluster",component="apiserver",client="kubectl"} ` + itoa(listCount) + `
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE etcd_mvcc_db_total_size_in_bytes gauge
etcd_mvcc_db_total_size_in_bytes 4096
`
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestDiffEndpoints: only the calls made between the scrapes count; an
// endpoint without calls in between disappears; clients are summed.
func TestDiffEndpoints(t *testing.T) {
	start, err := parseMetrics(metricsAt(10, 10, 3))
	if err != nil {
		t.Fatal(err)
	}
	end, err := parseMetrics(metricsAt(110, 20, 3))
	if err != nil {
		t.Fatal(err)
	}
	eps := diffEndpoints(requestHistograms(start), requestHistograms(end))
	if len(eps) != 1 {
		t.Fatalf("endpoints = %+v, want only GET pods", eps)
	}
	e := eps[0]
	if e.Verb != "GET" || e.Resource != "pods" || e.Scope != "resource" || e.Count != 100 {
		t.Fatalf("endpoint = %+v", e)
	}
	// 10 of the 100 new calls were under 100ms, 90 between 100ms and 1s:
	// p50 falls 40 calls into the second bucket.
	if want := 0.1 + 0.9*40/90; math.Abs(e.P50-want) > 1e-9 {
		t.Errorf("p50 = %v, want %v", e.P50, want)
	}
	if v, ok := gauge(end, "etcd_mvcc_db_total_size_in_bytes"); !ok || v != 4096 {
		t.Errorf("etcd size = %v %v", v, ok)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, url string
		want        report.APIEndpoint
	}{
		{"GET", "/api/v1/nodes?limit=500", report.APIEndpoint{Verb: "LIST", Resource: "nodes", Scope: "cluster"}},
		{"GET", "/api/v1/namespaces", report.APIEndpoint{Verb: "LIST", Resource: "namespaces", Scope: "cluster"}},
		{"DELETE", "/api/v1/namespaces/a", report.APIEndpoint{Verb: "DELETE", Resource: "namespaces", Scope: "resource"}},
		{"POST", "/api/v1/namespaces/a/pods", report.APIEndpoint{Verb: "POST", Resource: "pods", Scope: "namespace"}},
		{"GET", "/api/v1/namespaces/a/pods?watch=true", report.APIEndpoint{Verb: "WATCH", Resource: "pods", Scope: "namespace"}},
		{"PUT", "/api/v1/namespaces/a/pods/p/status", report.APIEndpoint{Verb: "PUT", Resource: "pods", Subresource: "status", Scope: "resource"}},
		{"PATCH", "/apis/apps/v1/namespaces/a/deployments/d", report.APIEndpoint{Verb: "PATCH", Group: "apps", Resource: "deployments", Scope: "resource"}},
		{"GET", "/apis/apps/v1/deployments", report.APIEndpoint{Verb: "LIST", Group: "apps", Resource: "deployments", Scope: "cluster"}},
		{"DELETE", "/api/v1/namespaces/a/configmaps", report.APIEndpoint{Verb: "DELETECOLLECTION", Resource: "configmaps", Scope: "namespace"}},
	} {
		req, _ := http.NewRequest(tc.method, "https://x"+tc.url, nil)
		got, ok := classify(req)
		if !ok || got != tc.want {
			t.Errorf("%s %s = %+v, %v; want %+v", tc.method, tc.url, got, ok, tc.want)
		}
	}
	req, _ := http.NewRequest("GET", "https://x/metrics", nil)
	if _, ok := classify(req); ok {
		t.Error("/metrics classified as an API call")
	}
}

func TestTuningSteps(t *testing.T) {
	tn := Tuning{Type: "steps", Steps: []Step{{QPS: 5, Duration: dur(10 * time.Second)}, {QPS: 50, Duration: dur(5 * time.Second)}}}
	if errs := tn.Validate(); len(errs) != 0 {
		t.Fatal(errs)
	}
	p := newPacer(tn, time.Now)
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{0, 5}, {9 * time.Second, 5}, {10 * time.Second, 50}, {time.Hour, 50}} {
		if got := float64(p.limitAt(tc.at)); got != tc.want {
			t.Errorf("limit at %s = %v, want %v", tc.at, got, tc.want)
		}
	}
	if errs := (Tuning{Type: "burst"}).Validate(); len(errs) != 1 {
		t.Errorf("unknown type: %v", errs)
	}
	if s := tn.String(); s != "steps 5qps/10s,50qps/5s" {
		t.Errorf("String = %q", s)
	}
}

// TestResourceTargets reads this process through /proc and a cgroup v2
// directory laid out as the kernel does, and turns two readings into
// cores.
func TestResourceTargets(t *testing.T) {
	self, err := procTarget("self", 0).read(context.Background())
	if err != nil || !self.ok || self.rss <= 0 || self.cpuSecs <= 0 {
		t.Fatalf("/proc/self = %+v, %v", self, err)
	}
	dir := t.TempDir()
	write := func(usec, mem string) {
		if err := os.WriteFile(filepath.Join(dir, "cpu.stat"), []byte("usage_usec "+usec+"\nuser_usec 1\nsystem_usec 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "memory.current"), []byte(mem+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1000000", "1048576")
	now := time.Unix(100, 0)
	clock := func() time.Time { return now }
	s := newResourceSampler(clock, time.Unix(99, 0), time.Second, []*resourceTarget{cgroupTarget(dir)})
	s.sample(context.Background())
	now = now.Add(2 * time.Second)
	write("4000000", "2097152")
	s.sample(context.Background())
	res := s.result()
	if len(res.Samples) != 1 || res.Samples[0].CPUCores != 1.5 || res.Samples[0].RSSBytes != 2<<20 {
		t.Fatalf("samples = %+v", res.Samples)
	}
	if len(res.Summary) != 1 || res.Summary[0].CPUMaxCores != 1.5 {
		t.Errorf("summary = %+v", res.Summary)
	}
}
