package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Tolerances say how much worse B may be than A before it is a regression.
type Tolerances struct {
	// Latency is the allowed relative increase of a latency (0.2 = +20%).
	Latency float64
	// LatencyFloor is an absolute increase, in seconds, below which a
	// latency change is noise whatever its ratio (a 5 ms p99 that becomes
	// 10 ms is not a regression).
	LatencyFloor float64
	// Throughput is the allowed relative decrease of pods/s (0.1 = -10%).
	Throughput float64
	// Memory is the allowed relative increase of peak RSS.
	Memory float64
	// MinCount ignores API endpoints with fewer calls than this in either
	// run: their p99 is one or two samples.
	MinCount int64
}

// DefaultTolerances suit runs on a shared CI machine.
func DefaultTolerances() Tolerances {
	return Tolerances{Latency: 0.25, LatencyFloor: 0.05, Throughput: 0.15, Memory: 0.25, MinCount: 20}
}

// Direction says which way a metric is better.
type Direction int

// LowerIsBetter for latencies and memory, HigherIsBetter for throughput.
const (
	LowerIsBetter Direction = iota
	HigherIsBetter
)

// Row is one metric compared between two runs.
type Row struct {
	Metric     string
	A, B       float64
	Unit       string
	Ratio      float64 // B/A; NaN when A is zero
	Better     Direction
	Regression bool
	// Note explains a missing value or a verdict change.
	Note string
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Rows []Row
	// Regressed is true when any row regressed or B's verdict is worse.
	Regressed bool
	VerdictA  string
	VerdictB  string
	// Notes warn about inputs that differ: such runs compare two
	// workloads, not two builds.
	Notes []string
}

// Compare lines up the headline numbers of two runs of the same test.
func Compare(a, b *Result, tol Tolerances) (*Comparison, error) {
	if a.Test != b.Test {
		return nil, fmt.Errorf("cannot compare a %s run with a %s run", a.Test, b.Test)
	}
	c := &Comparison{VerdictA: a.Verdict, VerdictB: b.Verdict}
	for _, d := range []struct {
		name string
		a, b any
	}{
		{"nodes", a.Inputs.Nodes, b.Inputs.Nodes},
		{"pods per node", a.Inputs.PodsPerNode, b.Inputs.PodsPerNode},
		{"latency pods", a.Inputs.LatencyPods, b.Inputs.LatencyPods},
		{"seed", a.Inputs.Seed, b.Inputs.Seed},
		{"client CPUs", a.Environment.CPUs, b.Environment.CPUs},
	} {
		if d.a != d.b {
			c.Notes = append(c.Notes, fmt.Sprintf("the runs differ in %s (%v vs %v)", d.name, d.a, d.b))
		}
	}
	lat := func(metric string, va, vb float64) {
		r := Row{Metric: metric, A: va, B: vb, Unit: "s", Better: LowerIsBetter, Ratio: ratio(va, vb)}
		r.Regression = vb-va > tol.LatencyFloor && vb > va*(1+tol.Latency)
		c.add(r)
	}
	for _, ph := range a.Phases {
		pb := findPhase(b, ph.Name)
		if pb == nil || ph.Pods == 0 {
			continue
		}
		r := Row{Metric: "phase " + ph.Name + " pods/s", A: ph.PodsPerSecond, B: pb.PodsPerSecond, Unit: "pods/s", Better: HigherIsBetter, Ratio: ratio(ph.PodsPerSecond, pb.PodsPerSecond)}
		r.Regression = pb.PodsPerSecond < ph.PodsPerSecond*(1-tol.Throughput)
		c.add(r)
	}
	for _, ga := range a.PodStartup {
		gb := b.Group(ga.Group)
		if gb == nil {
			continue
		}
		qa, qb := ga.Stages[StageEndToEnd], gb.Stages[StageEndToEnd]
		if qa.Count == 0 || qb.Count == 0 {
			continue
		}
		lat("pod startup "+ga.Group+" p50", qa.P50, qb.P50)
		lat("pod startup "+ga.Group+" p99", qa.P99, qb.P99)
	}
	for _, ea := range a.APILatency.Server {
		eb := findEndpoint(b.APILatency.Server, ea)
		if eb == nil || ea.Count < tol.MinCount || eb.Count < tol.MinCount {
			continue
		}
		lat("API p99 "+ea.Key(), ea.P99, eb.P99)
	}
	for _, sa := range a.Resources.Summary {
		for _, sb := range b.Resources.Summary {
			if sa.Process != sb.Process {
				continue
			}
			r := Row{Metric: "RSS max " + sa.Process, A: float64(sa.RSSMaxBytes) / (1 << 20), B: float64(sb.RSSMaxBytes) / (1 << 20), Unit: "MiB", Better: LowerIsBetter}
			r.Ratio = ratio(r.A, r.B)
			r.Regression = r.B > r.A*(1+tol.Memory)
			c.add(r)
			c.add(Row{Metric: "CPU avg " + sa.Process, A: sa.CPUAvgCores, B: sb.CPUAvgCores, Unit: "cores", Ratio: ratio(sa.CPUAvgCores, sb.CPUAvgCores), Note: "informational"})
		}
	}
	if rank(b.Verdict) > rank(a.Verdict) {
		c.Regressed = true
	}
	return c, nil
}

func (c *Comparison) add(r Row) {
	if r.Regression {
		c.Regressed = true
	}
	c.Rows = append(c.Rows, r)
}

func rank(v string) int {
	switch v {
	case VerdictPass:
		return 0
	case VerdictIncomplete:
		return 1
	default:
		return 2
	}
}

func ratio(a, b float64) float64 {
	if a == 0 {
		return math.NaN()
	}
	return b / a
}

func findPhase(r *Result, name string) *Phase {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

func findEndpoint(eps []APIEndpoint, e APIEndpoint) *APIEndpoint {
	for i := range eps {
		x := &eps[i]
		if x.Verb == e.Verb && x.Group == e.Group && x.Resource == e.Resource && x.Subresource == e.Subresource && x.Scope == e.Scope {
			return x
		}
	}
	return nil
}

// WriteComparison prints the side-by-side table and the verdict line.
func WriteComparison(w io.Writer, c *Comparison, nameA, nameB string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\tA\tB\tB/A\t\n")
	for _, r := range c.Rows {
		mark := ""
		switch {
		case r.Regression:
			mark = "REGRESSION"
		case r.Note != "":
			mark = r.Note
		}
		rs := "-"
		if !math.IsNaN(r.Ratio) {
			rs = fmt.Sprintf("%.2fx", r.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Metric, num(r.A, r.Unit), num(r.B, r.Unit), rs, mark)
	}
	fmt.Fprintf(tw, "verdict\t%s\t%s\t\t\n", c.VerdictA, c.VerdictB)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if c.Regressed {
		_, err := fmt.Fprintf(w, "REGRESSION: %s is worse than %s beyond the tolerances\n", nameB, nameA)
		return err
	}
	_, err := fmt.Fprintf(w, "OK: no regression of %s against %s\n", nameB, nameA)
	return err
}

func num(v float64, u string) string {
	if u == "s" {
		return secs(v)
	}
	return strings.TrimSpace(fmt.Sprintf("%.3g %s", v, u))
}
