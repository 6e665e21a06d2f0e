package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteText prints the summary a person reads at the end of a run: the
// verdict first, then the SLO table, phases, pod startup and the slowest
// API endpoints.
func WriteText(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	p("kplane test %s: %s (%d nodes, %s, run %s)\n", r.Test, strings.ToUpper(r.Verdict), r.Inputs.Nodes, secs(r.DurationSeconds), r.RunID)
	if !r.Finished {
		p("run did not finish: %s\npartial: %s\n", r.Error, strings.Join(r.Partial, ", "))
	}
	p("\nSLO\tvalue\tthreshold\tverdict\n")
	for _, s := range r.SLOs {
		part := ""
		if s.Partial {
			part = " (partial)"
		}
		p("%s\t%s\t%s\t%s%s\n", s.Name, unit(s.Value, s.Unit), unit(s.Threshold, s.Unit), s.Verdict, part)
	}
	p("\nphase\tduration\tobjects\tpods\tpods/s\ttuning\n")
	for _, ph := range r.Phases {
		done := ""
		if !ph.Finished {
			done = " (unfinished)"
		}
		p("%s%s\t%s\t%d\t%d\t%.1f\t%s\n", ph.Name, done, secs(ph.DurationSeconds), ph.Objects, ph.Pods, ph.PodsPerSecond, ph.Tuning)
	}
	for _, g := range r.PodStartup {
		p("\npod startup (%s, %d/%d running)\tp50\tp90\tp99\tmax\n", g.Group, g.Complete, g.Pods)
		for _, st := range Stages {
			q, ok := g.Stages[st]
			if !ok {
				continue
			}
			p("%s\t%s\t%s\t%s\t%s\n", st, secs(q.P50), secs(q.P90), secs(q.P99), secs(q.Max))
		}
	}
	if w := r.WatchDelay; w != nil {
		p("\nwatch delay (create response → informer event)\tp50\tp90\tp99\tmax\n%d pods\t%s\t%s\t%s\t%s\n", w.Count, secs(w.P50), secs(w.P90), secs(w.P99), secs(w.Max))
	}
	if r.APILatency.ServerAvailable {
		p("\nAPI latency (server, slowest p99)\tcount\tp50\tp99\n")
		for _, e := range slowest(r.APILatency.Server, 12) {
			p("%s\t%d\t%s\t%s\n", e.Key(), e.Count, secs(e.P50), secs(e.P99))
		}
	} else {
		p("\nAPI latency (server): unavailable: %s\n", r.APILatency.ServerNote)
	}
	if len(r.APILatency.Client) > 0 {
		p("\nAPI latency (client, slowest p99)\tcount\tp50\tp99\n")
		for _, e := range slowest(r.APILatency.Client, 8) {
			p("%s\t%d\t%s\t%s\n", e.Key(), e.Count, secs(e.P50), secs(e.P99))
		}
	}
	if len(r.Resources.Summary) > 0 {
		p("\nprocess\tsource\tCPU avg\tCPU max\tRSS max\n")
		for _, s := range r.Resources.Summary {
			p("%s\t%s\t%.2f cores\t%.2f cores\t%s\n", s.Process, s.Source, s.CPUAvgCores, s.CPUMaxCores, humanBytes(s.RSSMaxBytes))
		}
	}
	if r.Resources.EtcdDBSizeAvailable {
		p("etcd DB size\t%s\n", humanBytes(r.Resources.EtcdDBSizeBytes))
	} else {
		p("etcd DB size\tunavailable (not exposed by the API server's /metrics)\n")
	}
	p("scheduling throughput (best %gs interval)\t%.1f pods/s\n", r.Throughput.IntervalSeconds, r.Throughput.MaxScheduledPerSecond)
	return tw.Flush()
}

// Key names an endpoint as "VERB resource/sub (scope)".
func (e APIEndpoint) Key() string {
	res := e.Resource
	if e.Group != "" {
		res += "." + e.Group
	}
	if e.Subresource != "" {
		res += "/" + e.Subresource
	}
	return fmt.Sprintf("%s %s (%s)", e.Verb, res, e.Scope)
}

// slowest returns the n endpoints with the highest p99 among those an SLO
// covers (a WATCH lasts as long as the client wants).
func slowest(eps []APIEndpoint, n int) []APIEndpoint {
	var s []APIEndpoint
	for _, e := range eps {
		if APIThreshold(e) > 0 {
			s = append(s, e)
		}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].P99 > s[j].P99 })
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func secs(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1000)
	case s < 120:
		return fmt.Sprintf("%.2fs", s)
	default:
		return fmt.Sprintf("%.0fs", s)
	}
}

func unit(v float64, u string) string {
	if u == "s" {
		return secs(v)
	}
	return fmt.Sprintf("%.3g %s", v, u)
}

func humanBytes(b int64) string {
	const mib = 1 << 20
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/mib)
}
