package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteHTML renders r as one self-contained HTML file: inline CSS and SVG,
// no scripts, no external assets, so it can be committed, mailed or
// attached to a CI run and opened anywhere.
func WriteHTML(w io.Writer, r *Result) error {
	data := struct {
		R                                 *Result
		Started                           string
		CDF, API, Throughput, CPU, Memory template.HTML
		Endpoints                         []APIEndpoint
		Stages                            []string
	}{R: r, Started: r.StartTime.UTC().Format(time.RFC1123), Stages: Stages}
	data.CDF = cdfChart(r)
	data.API = apiChart(r)
	data.Throughput = throughputChart(r)
	data.CPU, data.Memory = resourceCharts(r)
	data.Endpoints = append([]APIEndpoint(nil), r.APILatency.Server...)
	if !r.APILatency.ServerAvailable {
		data.Endpoints = append(data.Endpoints, r.APILatency.Client...)
	}
	sort.SliceStable(data.Endpoints, func(i, j int) bool { return data.Endpoints[i].P99 > data.Endpoints[j].P99 })
	return page.Execute(w, data)
}

func cdfChart(r *Result) template.HTML {
	var ss []Series
	for _, g := range r.PodStartup {
		s := Series{Name: fmt.Sprintf("%s (%d pods)", g.Group, g.Complete)}
		for _, p := range g.CDF {
			s.Points = append(s.Points, [2]float64{p.Seconds, p.Fraction})
		}
		ss = append(ss, s)
	}
	return LineChart("Pod startup latency CDF", "seconds from creation to observed Running", "fraction of pods", ss)
}

func apiChart(r *Result) template.HTML {
	eps := r.APILatency.Server
	title := "API p99 latency per verb and resource (server)"
	if !r.APILatency.ServerAvailable {
		eps, title = r.APILatency.Client, "API p99 latency per verb and resource (client)"
	}
	var bars []Bar
	for _, e := range eps {
		if APIThreshold(e) == 0 {
			continue
		}
		bars = append(bars, Bar{Label: e.Key(), Value: e.P99, Limit: APIThreshold(e)})
	}
	sort.SliceStable(bars, func(i, j int) bool { return bars[i].Label < bars[j].Label })
	if len(bars) > 40 {
		sort.SliceStable(bars, func(i, j int) bool { return bars[i].Value > bars[j].Value })
		bars = bars[:40]
	}
	return BarChart(title, "seconds", bars)
}

func throughputChart(r *Result) template.HTML {
	c := Series{Name: "created"}
	s := Series{Name: "scheduled"}
	run := Series{Name: "running"}
	iv := r.Throughput.IntervalSeconds
	if iv <= 0 {
		iv = 1
	}
	for _, p := range r.Throughput.Series {
		c.Points = append(c.Points, [2]float64{p.T, float64(p.Created) / iv})
		s.Points = append(s.Points, [2]float64{p.T, float64(p.Scheduled) / iv})
		run.Points = append(run.Points, [2]float64{p.T, float64(p.Running) / iv})
	}
	return LineChart("Pod throughput over time", "seconds since start", "pods per second", []Series{c, s, run})
}

func resourceCharts(r *Result) (cpu, mem template.HTML) {
	byProc := map[string]*[2]Series{}
	var order []string
	for _, smp := range r.Resources.Samples {
		p, ok := byProc[smp.Process]
		if !ok {
			p = &[2]Series{{Name: smp.Process}, {Name: smp.Process}}
			byProc[smp.Process] = p
			order = append(order, smp.Process)
		}
		p[0].Points = append(p[0].Points, [2]float64{smp.T, smp.CPUCores})
		p[1].Points = append(p[1].Points, [2]float64{smp.T, float64(smp.RSSBytes) / (1 << 20)})
	}
	var cs, ms []Series
	for _, name := range order {
		cs = append(cs, byProc[name][0])
		ms = append(ms, byProc[name][1])
	}
	return LineChart("CPU over time", "seconds since start", "cores", cs), LineChart("Memory (RSS) over time", "seconds since start", "MiB", ms)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs":  secs,
	"bytes": humanBytes,
	"upper": strings.ToUpper,
	"unit":  unit,
	"limit": func(e APIEndpoint) string {
		if t := APIThreshold(e); t > 0 {
			return secs(t)
		}
		return "-"
	},
	"over": func(e APIEndpoint) bool { t := APIThreshold(e); return t > 0 && e.P99 > t },
	"stage": func(g PodStartupGroup, s string) *Quantiles {
		if q, ok := g.Stages[s]; ok {
			return &q
		}
		return nil
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>kplane test {{.R.Test}}: {{.R.Verdict}} ({{.R.Inputs.Nodes}} nodes)</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.pass{color:#060;font-weight:bold}.fail{color:#b00;font-weight:bold}
.incomplete{color:#a60;font-weight:bold}.note{color:#666}svg{max-width:100%;height:auto;display:block;margin:.5em 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 2em}
</style></head><body>
<h1>kplane test {{.R.Test}} — <span class="{{.R.Verdict}}">{{upper .R.Verdict}}</span></h1>
<p>{{.R.Inputs.Nodes}} nodes ({{.R.Inputs.CreatedNodes}} hollow nodes created by the run), {{.R.Inputs.PodsPerNode}} pods per node, seed {{.R.Inputs.Seed}}.
Started {{.Started}}, took {{secs .R.DurationSeconds}}. Run {{.R.RunID}}.</p>
{{if not .R.Finished}}<p class="fail">The run did not finish: {{.R.Error}}. Partial measurements: {{range .R.Partial}}{{.}} {{end}}</p>{{end}}
<h2>SLO verdicts</h2>
<table><tr><th>SLO</th><th>measured</th><th>threshold</th><th>verdict</th></tr>
{{range .R.SLOs}}<tr><td>{{.Name}}{{if .Detail}} <span class="note">({{.Detail}})</span>{{end}}</td><td>{{unit .Value .Unit}}</td><td>{{unit .Threshold .Unit}}</td><td class="{{.Verdict}}">{{.Verdict}}{{if .Partial}} (partial){{end}}</td></tr>
{{end}}</table>
<h2>Phases</h2>
<table><tr><th>phase</th><th>duration</th><th>objects</th><th>pods</th><th>pods/s</th><th>tuning</th></tr>
{{range .R.Phases}}<tr><td>{{.Name}}{{if not .Finished}} (unfinished){{end}}</td><td>{{secs .DurationSeconds}}</td><td>{{.Objects}}</td><td>{{.Pods}}</td><td>{{printf "%.1f" .PodsPerSecond}}</td><td>{{.Tuning}}</td></tr>
{{end}}</table>
<h2>Pod startup</h2>
{{.CDF}}
{{range $g := .R.PodStartup}}<table><tr><th>{{$g.Group}} ({{$g.Complete}}/{{$g.Pods}} running)</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>
{{range $st := $.Stages}}{{with stage $g $st}}<tr><td>{{$st}}</td><td>{{secs .P50}}</td><td>{{secs .P90}}</td><td>{{secs .P99}}</td><td>{{secs .Max}}</td></tr>{{end}}
{{end}}</table>{{end}}
<p class="note">created/scheduled/running come from the API (one-second resolution, creation from the client clock for pods the test created itself); watched is the client clock when the informer saw the pod Running.</p>
{{with .R.WatchDelay}}<p>Watch event latency (create response to informer event, {{.Count}} pods): p50 {{secs .P50}}, p90 {{secs .P90}}, p99 {{secs .P99}}, max {{secs .Max}}.</p>{{end}}
<h2>Throughput</h2>
{{.Throughput}}
<p>Best scheduling rate: {{printf "%.1f" .R.Throughput.MaxScheduledPerSecond}} pods/s over {{.R.Throughput.IntervalSeconds}} s.</p>
<h2>API call latency</h2>
{{if not .R.APILatency.ServerAvailable}}<p class="note">Server metrics unavailable ({{.R.APILatency.ServerNote}}); client-side latencies shown.</p>{{end}}
{{.API}}
<table><tr><th>verb resource (scope)</th><th>calls</th><th>p50</th><th>p90</th><th>p99</th><th>SLO</th></tr>
{{range .Endpoints}}<tr><td>{{.Key}}</td><td>{{.Count}}</td><td>{{secs .P50}}</td><td>{{secs .P90}}</td><td{{if over .}} class="fail"{{end}}>{{secs .P99}}</td><td>{{limit .}}</td></tr>
{{end}}</table>
<h2>Control-plane resources</h2>
<div class="grid"><div>{{.CPU}}</div><div>{{.Memory}}</div></div>
<table><tr><th>process</th><th>source</th><th>CPU avg</th><th>CPU max</th><th>RSS max</th></tr>
{{range .R.Resources.Summary}}<tr><td>{{.Process}}</td><td>{{.Source}}</td><td>{{printf "%.2f" .CPUAvgCores}}</td><td>{{printf "%.2f" .CPUMaxCores}}</td><td>{{bytes .RSSMaxBytes}}</td></tr>
{{end}}</table>
<p>etcd DB size: {{if .R.Resources.EtcdDBSizeAvailable}}{{bytes .R.Resources.EtcdDBSizeBytes}}{{else}}unavailable (not exposed by the API server's /metrics){{end}}.</p>
<h2>Objects at the end</h2>
<table>{{range $k, $v := .R.ObjectCounts}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>
<h2>Environment</h2>
<table>
<tr><td>client host</td><td>{{.R.Environment.Hostname}} ({{.R.Environment.OS}}/{{.R.Environment.Arch}}, {{.R.Environment.CPUs}} CPUs, {{.R.Environment.GoVersion}})</td></tr>
<tr><td>kplane</td><td>{{.R.Environment.KplaneVersion}}</td></tr>
<tr><td>server</td><td>{{.R.Environment.ServerURL}} {{.R.Environment.ServerVersion}}</td></tr>
<tr><td>command</td><td>{{.R.Inputs.CommandLine}}</td></tr>
{{range .R.Profiles}}<tr><td>profile</td><td>{{.}}</td></tr>{{end}}
</table>
</body></html>
`))
