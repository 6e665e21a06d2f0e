package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sample is a small but complete result, built with the fields a real run
// fills.
func sample() *Result {
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	return &Result{
		SchemaVersion: SchemaVersion, Test: "density", RunID: "density-1", StartTime: start, EndTime: start.Add(time.Minute),
		DurationSeconds: 60, Finished: true, Verdict: VerdictPass,
		Inputs:      Inputs{Nodes: 100, PodsPerNode: 30, Seed: 1, Spec: map[string]any{}},
		Environment: Environment{Hostname: "h", CPUs: 2, ServerVersion: "v1.37.2"},
		Phases:      []Phase{{Name: "saturation", DurationSeconds: 30, Finished: true, Objects: 1, Pods: 3000, PodsPerSecond: 100}},
		PodStartup: []PodStartupGroup{{Group: "latency", Pods: 100, Complete: 100,
			Stages: map[string]Quantiles{StageEndToEnd: {Count: 100, P50: 0.5, P90: 0.8, P99: 1.2, Max: 1.5}},
			CDF:    []CDFPoint{{0.2, 0.1}, {0.5, 0.5}, {1.5, 1}}}},
		APILatency: APILatency{ServerAvailable: true, Server: []APIEndpoint{
			{Verb: "POST", Resource: "pods", Scope: "namespace", Count: 3100, P50: 0.01, P90: 0.05, P99: 0.2},
			{Verb: "LIST", Resource: "nodes", Scope: "cluster", Count: 5, P99: 0.1},
			{Verb: "WATCH", Resource: "pods", Scope: "cluster", Count: 5, P99: 60},
		}},
		Throughput: Throughput{IntervalSeconds: 1, Series: []ThroughputPoint{{0, 10, 5, 1}, {1, 100, 90, 80}}, MaxScheduledPerSecond: 90},
		Resources: Resources{Samples: []ResourceSample{{1, "api <server>", 0.5, 100 << 20}, {2, "api <server>", 1.5, 120 << 20}},
			Summary: []ResourceSummary{{Process: "api <server>", Source: "metrics", CPUAvgCores: 1, CPUMaxCores: 1.5, RSSMaxBytes: 120 << 20}}},
		ObjectCounts: map[string]int64{"pods": 3100},
		SLOs:         []SLO{{Name: "pod startup p99", Metric: "create_to_watch", Value: 1.2, Threshold: 5, Unit: "s", Verdict: VerdictPass}},
	}
}

func TestCompare(t *testing.T) {
	tol := DefaultTolerances()
	a := sample()
	c, err := Compare(a, sample(), tol)
	if err != nil {
		t.Fatal(err)
	}
	if c.Regressed || len(c.Notes) != 0 {
		t.Fatalf("a run regressed against itself: %+v %v", c.Rows, c.Notes)
	}
	bigger := sample()
	bigger.Inputs.Nodes = 1000
	if c, _ := Compare(a, bigger, tol); len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "nodes (100 vs 1000)") {
		t.Errorf("notes = %v", c.Notes)
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*Result)
		regress bool
	}{
		{"slower startup", func(r *Result) {
			q := r.PodStartup[0].Stages[StageEndToEnd]
			q.P99 = 2
			r.PodStartup[0].Stages[StageEndToEnd] = q
		}, true},
		{"slower startup within tolerance", func(r *Result) {
			q := r.PodStartup[0].Stages[StageEndToEnd]
			q.P99 = 1.3
			r.PodStartup[0].Stages[StageEndToEnd] = q
		}, false},
		{"API p99 doubled but below the floor", func(r *Result) { r.APILatency.Server[0].P99 = 0.24 }, false},
		{"API p99 tripled", func(r *Result) { r.APILatency.Server[0].P99 = 0.6 }, true},
		{"few calls are ignored", func(r *Result) { r.APILatency.Server[1].P99 = 5 }, false},
		{"lower throughput", func(r *Result) { r.Phases[0].PodsPerSecond = 50 }, true},
		{"higher throughput", func(r *Result) { r.Phases[0].PodsPerSecond = 500 }, false},
		{"more memory", func(r *Result) { r.Resources.Summary[0].RSSMaxBytes = 300 << 20 }, true},
		{"verdict got worse", func(r *Result) { r.Verdict = VerdictFail }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sample()
			tc.mutate(b)
			c, err := Compare(a, b, tol)
			if err != nil {
				t.Fatal(err)
			}
			if c.Regressed != tc.regress {
				t.Errorf("regressed = %v, want %v: %+v", c.Regressed, tc.regress, c.Rows)
			}
			var out bytes.Buffer
			if err := WriteComparison(&out, c, "a.json", "b.json"); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(out.String(), "REGRESSION:"); got != tc.regress {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
	load := sample()
	load.Test = "load"
	if _, err := Compare(a, load, tol); err == nil {
		t.Error("compared a density run with a load run")
	}
}

// TestHTMLSelfContained: one file, no scripts or external references, and
// every chart is well-formed SVG with escaped text.
func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, sample()); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if strings.Contains(html, "<script") || regexp.MustCompile(`(src|href)=`).MatchString(html) {
		t.Error("report references scripts or external assets")
	}
	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(html, -1)
	if len(svgs) != 5 {
		t.Fatalf("%d charts, want 5", len(svgs))
	}
	for _, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chart is not well-formed XML: %v\n%s", err, s)
			}
		}
	}
	if !strings.Contains(html, "<tr><td>create_to_watch</td><td>500ms</td><td>800ms</td><td>1.20s</td><td>1.50s</td></tr>") {
		t.Error("pod startup table lacks the create_to_watch row")
	}
	if !strings.Contains(html, "api &lt;server&gt;") || strings.Contains(html, "api <server>") {
		t.Error("process name not escaped")
	}
	if strings.Count(html, "WATCH pods") != 1 {
		t.Error("WATCH must be listed in the table but not charted against an SLO")
	}
}

func TestTextSummary(t *testing.T) {
	r := sample()
	r.Finished, r.Verdict, r.Error, r.Partial = false, VerdictIncomplete, "timed out", []string{"slos"}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kplane test density: INCOMPLETE (100 nodes", "run did not finish: timed out", "pod startup p99", "POST pods (namespace)", "120.0 MiB"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "WATCH") {
		t.Error("WATCH listed among the slowest calls")
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0.7: 1, 1.2: 2, 3: 5, 7: 10, 230: 500, 0.031: 0.05} {
		if got := niceCeil(in); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
