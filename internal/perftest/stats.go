package perftest

import (
	"math"
	"sort"

	"kplane/internal/perftest/report"
)

// quantiles summarises exact samples (seconds) with the nearest-rank
// method: p99 of 100 samples is the 99th smallest, a value that happened.
func quantiles(samples []float64) report.Quantiles {
	if len(samples) == 0 {
		return report.Quantiles{}
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return report.Quantiles{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}

// cdf thins sorted samples to at most n points of the empirical CDF.
func cdf(samples []float64, n int) []report.CDFPoint {
	if len(samples) == 0 {
		return nil
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	step := max(1, len(s)/n)
	var out []report.CDFPoint
	for i := step - 1; i < len(s); i += step {
		out = append(out, report.CDFPoint{Seconds: s[i], Fraction: float64(i+1) / float64(len(s))})
	}
	if last := out[len(out)-1]; last.Fraction < 1 {
		out = append(out, report.CDFPoint{Seconds: s[len(s)-1], Fraction: 1})
	}
	return out
}

// histogramQuantile estimates quantile q from cumulative bucket counts the
// way Prometheus' histogram_quantile does: find the bucket the rank falls
// in and interpolate linearly inside it; a rank in the +Inf bucket returns
// the highest finite bound.
func histogramQuantile(q float64, bounds []float64, cumulative []uint64) float64 {
	if len(bounds) == 0 || len(cumulative) != len(bounds) {
		return 0
	}
	total := cumulative[len(cumulative)-1]
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	for i, c := range cumulative {
		if float64(c) < rank {
			continue
		}
		if math.IsInf(bounds[i], 1) {
			if i == 0 {
				return 0
			}
			return bounds[i-1]
		}
		lo, prev := 0.0, uint64(0)
		if i > 0 {
			lo, prev = bounds[i-1], cumulative[i-1]
		}
		inBucket := float64(c - prev)
		if inBucket == 0 {
			return bounds[i]
		}
		return lo + (bounds[i]-lo)*(rank-float64(prev))/inBucket
	}
	return bounds[len(bounds)-1]
}
