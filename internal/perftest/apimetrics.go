package perftest

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"

	"kplane/internal/perftest/report"
)

// metricsSource reads the API server's /metrics through the client's
// credentials, which is how the test measures any cluster without a
// Prometheus stack or SSH to the master.
type metricsSource struct {
	client rest.Interface
}

// scrape returns the metric families the server exposes.
func (m *metricsSource) scrape(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	body, err := m.client.Get().AbsPath("/metrics").Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("scrape /metrics: %w", err)
	}
	return parseMetrics(string(body))
}

func parseMetrics(text string) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	return fams, nil
}

// requestHistogram is one series of apiserver_request_duration_seconds.
type requestHistogram struct {
	key        report.APIEndpoint // Count/quantiles unset
	bounds     []float64
	cumulative []uint64
}

// latencyMetric is upstream's (and kplane's) request latency histogram.
const latencyMetric = "apiserver_request_duration_seconds"

// requestHistograms extracts the latency histograms keyed by
// verb/group/resource/subresource/scope, summing over the labels the
// report does not split by (client, component, dry_run, version).
func requestHistograms(fams map[string]*dto.MetricFamily) map[string]*requestHistogram {
	out := map[string]*requestHistogram{}
	fam := fams[latencyMetric]
	if fam == nil {
		return out
	}
	for _, m := range fam.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		l := map[string]string{}
		for _, lp := range m.GetLabel() {
			l[lp.GetName()] = lp.GetValue()
		}
		if l["dry_run"] != "" {
			continue
		}
		key := report.APIEndpoint{Verb: l["verb"], Group: l["group"], Resource: l["resource"], Subresource: l["subresource"], Scope: l["scope"]}
		k := endpointID(key)
		rh := out[k]
		if rh == nil {
			rh = &requestHistogram{key: key}
			for _, b := range h.GetBucket() {
				rh.bounds = append(rh.bounds, b.GetUpperBound())
			}
			if len(rh.bounds) == 0 || !math.IsInf(rh.bounds[len(rh.bounds)-1], 1) {
				rh.bounds = append(rh.bounds, math.Inf(1))
			}
			rh.cumulative = make([]uint64, len(rh.bounds))
			out[k] = rh
		}
		bs := h.GetBucket()
		for i := range rh.bounds {
			if i < len(bs) && bs[i].GetUpperBound() == rh.bounds[i] {
				rh.cumulative[i] += bs[i].GetCumulativeCount()
			} else if math.IsInf(rh.bounds[i], 1) {
				rh.cumulative[i] += h.GetSampleCount()
			}
		}
	}
	return out
}

func endpointID(e report.APIEndpoint) string {
	return strings.Join([]string{e.Verb, e.Group, e.Resource, e.Subresource, e.Scope}, "|")
}

// diffEndpoints subtracts the start scrape from the end scrape and turns
// each series with calls during the run into p50/p90/p99. Counters that
// went backwards (the server restarted) are taken from the end scrape
// alone.
func diffEndpoints(start, end map[string]*requestHistogram) []report.APIEndpoint {
	var out []report.APIEndpoint
	for k, e := range end {
		cum := append([]uint64(nil), e.cumulative...)
		if s := start[k]; s != nil && len(s.cumulative) == len(cum) && s.cumulative[len(cum)-1] <= cum[len(cum)-1] {
			for i := range cum {
				if s.cumulative[i] <= cum[i] {
					cum[i] -= s.cumulative[i]
				}
			}
		}
		n := cum[len(cum)-1]
		if n == 0 {
			continue
		}
		ep := e.key
		ep.Count = int64(n)
		ep.P50 = histogramQuantile(0.50, e.bounds, cum)
		ep.P90 = histogramQuantile(0.90, e.bounds, cum)
		ep.P99 = histogramQuantile(0.99, e.bounds, cum)
		out = append(out, ep)
	}
	sortEndpoints(out)
	return out
}

func sortEndpoints(eps []report.APIEndpoint) {
	sort.Slice(eps, func(i, j int) bool { return endpointID(eps[i]) < endpointID(eps[j]) })
}

// gauge returns the sum of a gauge or counter family's values, and whether
// the family exists.
func gauge(fams map[string]*dto.MetricFamily, name string) (float64, bool) {
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, false
	}
	v := 0.0
	for _, m := range f.GetMetric() {
		switch {
		case m.GetGauge() != nil:
			v += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			v += m.GetCounter().GetValue()
		case m.GetUntyped() != nil:
			v += m.GetUntyped().GetValue()
		}
	}
	return v, true
}

// etcdDBSizeMetrics are the names under which an API server may expose
// etcd's database size: etcd's own, and upstream kube-apiserver's.
var etcdDBSizeMetrics = []string{"etcd_mvcc_db_total_size_in_bytes", "apiserver_storage_db_total_size_in_bytes", "apiserver_storage_size_bytes"}

// objectCounts reads apiserver_storage_objects (upstream and kplane) into
// resource → count.
func objectCounts(fams map[string]*dto.MetricFamily) map[string]int64 {
	out := map[string]int64{}
	f := fams["apiserver_storage_objects"]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "resource" {
				out[lp.GetValue()] += int64(m.GetGauge().GetValue())
			}
		}
	}
	return out
}
