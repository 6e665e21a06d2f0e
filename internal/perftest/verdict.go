package perftest

import (
	"fmt"

	"kplane/internal/perftest/report"
)

// verdicts checks the Kubernetes scalability SLOs against what the run
// measured: one verdict per API call class (worst endpoint decides, with
// the endpoint named in Detail) and pod startup.
func (r *Runner) verdicts(res *report.Result) []report.SLO {
	partial := !res.Finished
	var out []report.SLO
	eps, source := res.APILatency.Server, "server"
	if !res.APILatency.ServerAvailable {
		eps, source = res.APILatency.Client, "client"
	}
	classes := []struct {
		name      string
		threshold float64
		match     func(report.APIEndpoint) bool
	}{
		{"API mutating and single-object calls p99", report.SLOMutatingOrSingle, func(e report.APIEndpoint) bool {
			return report.APIThreshold(e) == report.SLOMutatingOrSingle
		}},
		{"API namespace-scoped LIST p99", report.SLONamespaceList, func(e report.APIEndpoint) bool {
			return e.Verb == "LIST" && e.Scope != "cluster"
		}},
		{"API cluster-scoped LIST p99", report.SLOClusterList, func(e report.APIEndpoint) bool {
			return e.Verb == "LIST" && e.Scope == "cluster"
		}},
	}
	for _, c := range classes {
		s := report.SLO{Name: c.name, Metric: "apiserver_request_duration_seconds (" + source + ")", Threshold: c.threshold, Unit: "s", Partial: partial}
		var worst *report.APIEndpoint
		for i := range eps {
			e := &eps[i]
			if e.Resource == "" || !c.match(*e) {
				continue
			}
			if worst == nil || e.P99 > worst.P99 {
				worst = e
			}
		}
		if worst != nil {
			s.Value = worst.P99
			s.Detail = fmt.Sprintf("worst: %s, %d calls", worst.Key(), worst.Count)
		} else {
			s.Detail = "no calls of this class"
		}
		s.Verdict = verdict(s.Value <= s.Threshold, partial)
		out = append(out, s)
	}
	group := "latency"
	if r.cfg.Test == Load {
		group = "load"
	}
	s := report.SLO{Name: "pod startup p99 (" + group + " pods)", Metric: "create_to_watch", Threshold: report.SLOPodStartup, Unit: "s", Partial: partial}
	if g := res.Group(group); g != nil && g.Complete > 0 {
		s.Value = g.Stages[report.StageEndToEnd].P99
		s.Detail = fmt.Sprintf("%d of %d pods running", g.Complete, g.Pods)
		s.Verdict = verdict(s.Value <= s.Threshold && g.Complete == g.Pods, partial)
		if g.Complete < g.Pods {
			s.Detail += "; not all pods started"
		}
	} else {
		s.Detail = "no pod reached Running"
		s.Verdict = verdict(false, partial)
	}
	out = append(out, s)
	return out
}

func verdict(ok, partial bool) string {
	switch {
	case !ok:
		return report.VerdictFail
	case partial:
		return report.VerdictIncomplete
	default:
		return report.VerdictPass
	}
}

// overall is pass when the run finished and every SLO passed, fail when
// any SLO failed (even on a partial run: a failure is real), else
// incomplete.
func overall(res *report.Result) string {
	v := report.VerdictPass
	for _, s := range res.SLOs {
		if s.Verdict == report.VerdictFail {
			return report.VerdictFail
		}
		if s.Verdict != report.VerdictPass {
			v = report.VerdictIncomplete
		}
	}
	if !res.Finished {
		return report.VerdictIncomplete
	}
	return v
}
