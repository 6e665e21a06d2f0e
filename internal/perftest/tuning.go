package perftest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Tuning paces the API calls of a phase, as ClusterLoader2's tuning sets
// do: "uniform" issues calls at a constant QPS; "steps" changes the QPS
// after each step's duration (the last step's QPS holds until the phase
// ends), which shows where a control plane starts to fall behind.
type Tuning struct {
	// Type is "uniform" (default) or "steps".
	Type string `json:"type,omitempty"`
	// QPS of a uniform tuning set; 0 means as fast as the client allows.
	QPS float64 `json:"qps,omitempty"`
	// Steps of a "steps" tuning set.
	Steps []Step `json:"steps,omitempty"`
	// Parallelism is how many calls may be in flight at once; default 16.
	Parallelism int `json:"parallelism,omitempty"`
}

// Step is one stage of a "steps" tuning set.
type Step struct {
	QPS      float64         `json:"qps"`
	Duration metav1.Duration `json:"duration"`
}

// Validate reports every problem with t.
func (t Tuning) Validate() []string {
	var errs []string
	switch t.Type {
	case "", "uniform":
		if t.QPS < 0 {
			errs = append(errs, "qps must be >= 0")
		}
	case "steps":
		if len(t.Steps) == 0 {
			errs = append(errs, "steps tuning needs at least one step")
		}
		for i, s := range t.Steps {
			if s.QPS <= 0 || s.Duration.Duration <= 0 {
				errs = append(errs, fmt.Sprintf("step %d needs qps > 0 and a duration > 0", i))
			}
		}
	default:
		errs = append(errs, fmt.Sprintf("unknown tuning type %q (want uniform or steps)", t.Type))
	}
	if t.Parallelism < 0 {
		errs = append(errs, "parallelism must be >= 0")
	}
	return errs
}

// String describes t for reports ("uniform 20 qps", "steps 5qps/30s,...").
func (t Tuning) String() string {
	if t.Type == "steps" {
		var parts []string
		for _, s := range t.Steps {
			parts = append(parts, fmt.Sprintf("%gqps/%s", s.QPS, s.Duration.Duration))
		}
		return "steps " + strings.Join(parts, ",")
	}
	if t.QPS == 0 {
		return "uniform unlimited"
	}
	return fmt.Sprintf("uniform %g qps", t.QPS)
}

func (t Tuning) parallelism() int {
	if t.Parallelism <= 0 {
		return 16
	}
	return t.Parallelism
}

// pacer hands out permission for one call at a time per the tuning set.
type pacer struct {
	t       Tuning
	clock   func() time.Time
	start   time.Time
	limiter *rate.Limiter
}

func newPacer(t Tuning, clock func() time.Time) *pacer {
	p := &pacer{t: t, clock: clock, start: clock()}
	p.limiter = rate.NewLimiter(p.limitAt(0), 1)
	return p
}

// limitAt is the QPS after elapsed time in the phase.
func (p *pacer) limitAt(elapsed time.Duration) rate.Limit {
	if p.t.Type != "steps" {
		if p.t.QPS <= 0 {
			return rate.Inf
		}
		return rate.Limit(p.t.QPS)
	}
	var at time.Duration
	for _, s := range p.t.Steps {
		at += s.Duration.Duration
		if elapsed < at {
			return rate.Limit(s.QPS)
		}
	}
	return rate.Limit(p.t.Steps[len(p.t.Steps)-1].QPS)
}

// wait blocks until the next call may start.
func (p *pacer) wait(ctx context.Context) error {
	if l := p.limitAt(p.clock().Sub(p.start)); l != p.limiter.Limit() {
		p.limiter.SetLimit(l)
	}
	return p.limiter.Wait(ctx)
}
