package podautoscaler

import (
	"math"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// recommendation is one past desired replica count, for stabilization.
type recommendation struct {
	replicas int32
	at       time.Time
}

// scaleEvent is one past rescale, for the behavior policies' rate limits.
type scaleEvent struct {
	change   int32
	at       time.Time
	outdated bool
}

// history is the controller's memory of one HPA: recent recommendations
// and scale events. It lives only in this process, as upstream's; a new
// leader starts with none.
type history struct {
	recommendations      []recommendation
	scaleUps, scaleDowns []scaleEvent
}

// histories maps HPA keys to their history.
type histories struct {
	mu sync.Mutex // guards m and every history in it
	m  map[string]*history
}

// with runs f on key's history under the lock, creating it if needed.
func (h *histories) with(key string, f func(*history)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*history{}
	}
	hs, ok := h.m[key]
	if !ok {
		hs = &history{}
		h.m[key] = hs
	}
	f(hs)
}

func (h *histories) forget(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, key)
}

// limits is what normalization decided, for the HPA's conditions.
type limits struct {
	stabilizedReason, stabilizedMessage string // AbleToScale (True)
	limited                             bool   // ScalingLimited status
	limitReason, limitMessage           string
}

// recordInitial seeds the recommendations with the current size, so a
// fresh controller does not scale down at once (upstream's
// recordInitialRecommendation).
func (hs *history) recordInitial(current int32, now time.Time) {
	if hs.recommendations == nil {
		hs.recommendations = []recommendation{{current, now}}
	}
}

// normalizeLegacy is upstream's normalizeDesiredReplicas for HPAs without
// spec.behavior: the highest recommendation of the downscale
// stabilization window, then min/max replicas and a scale-up limit of
// max(2×current, 4).
func (hs *history) normalizeLegacy(now time.Time, window time.Duration, current, desired, minReplicas, maxReplicas int32) (int32, limits) {
	stabilized := desired
	cutoff := now.Add(-window)
	old := -1
	for i, r := range hs.recommendations {
		if r.at.Before(cutoff) {
			old = i
		} else if r.replicas > stabilized {
			stabilized = r.replicas
		}
	}
	hs.remember(old, desired, now)
	var l limits
	if stabilized != desired {
		l.stabilizedReason, l.stabilizedMessage = "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
	} else {
		l.stabilizedReason, l.stabilizedMessage = "ReadyForNewScale", "recommended size matches current size"
	}
	upLimit := int32(math.Max(2*float64(current), 4))
	maxAllowed, reason, msg := maxReplicas, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	if maxReplicas > upLimit {
		maxAllowed, reason, msg = upLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	}
	out := stabilized
	switch {
	case stabilized < minReplicas:
		out, reason, msg = minReplicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	case stabilized > maxAllowed:
		out = maxAllowed
	default:
		reason, msg = "DesiredWithinRange", "the desired count is within the acceptable range"
	}
	l.limited, l.limitReason, l.limitMessage = out != stabilized, reason, msg
	return out, l
}

func (hs *history) remember(old int, desired int32, now time.Time) {
	if old >= 0 {
		hs.recommendations[old] = recommendation{desired, now}
	} else {
		hs.recommendations = append(hs.recommendations, recommendation{desired, now})
	}
}

// normalizeWithBehavior is upstream's normalizeDesiredReplicasWithBehaviors:
// stabilization over the direction's window (lowest recent recommendation
// when scaling up, highest when scaling down), then the direction's
// policies limit how far the count may move from where it was at the start
// of each policy period, then min/max replicas.
func (hs *history) normalizeWithBehavior(now time.Time, b *autoscalingv2.HorizontalPodAutoscalerBehavior, current, desired, minReplicas, maxReplicas int32) (int32, limits) {
	up, down := b.ScaleUp, b.ScaleDown
	upWindow, downWindow := windowSeconds(up), windowSeconds(down)
	var l limits
	stabilized := desired
	var window int32
	var better func(a, b int32) int32
	if desired >= current {
		window, better = upWindow, func(a, b int32) int32 { return min(a, b) }
		l.stabilizedReason, l.stabilizedMessage = "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"
	} else {
		window, better = downWindow, func(a, b int32) int32 { return max(a, b) }
		l.stabilizedReason, l.stabilizedMessage = "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"
	}
	obsolete := now.Add(-time.Duration(max(upWindow, downWindow)) * time.Second)
	cutoff := now.Add(-time.Duration(window) * time.Second)
	old := -1
	for i, r := range hs.recommendations {
		if r.at.After(cutoff) {
			stabilized = better(r.replicas, stabilized)
		}
		if r.at.Before(obsolete) {
			old = i
		}
	}
	hs.remember(old, desired, now)
	if stabilized == desired {
		l.stabilizedReason, l.stabilizedMessage = "ReadyForNewScale", "recommended size matches current size"
	}

	out, reason, msg := stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
	switch {
	case stabilized > current:
		limit := max(scaleUpLimit(now, current, hs.scaleUps, up), current)
		maxAllowed := maxReplicas
		r, m := "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		if maxAllowed > limit {
			maxAllowed, r, m = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		}
		if stabilized > maxAllowed {
			out, reason, msg = maxAllowed, r, m
		}
	case stabilized < current:
		limit := min(scaleDownLimit(now, current, hs.scaleDowns, down), current)
		minAllowed := minReplicas
		r, m := "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		if minAllowed < limit {
			minAllowed, r, m = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		}
		if stabilized < minAllowed {
			out, reason, msg = minAllowed, r, m
		}
	}
	l.limited, l.limitReason, l.limitMessage = out != stabilized, reason, msg
	return out, l
}

func windowSeconds(r *autoscalingv2.HPAScalingRules) int32 {
	if r == nil || r.StabilizationWindowSeconds == nil {
		return 0
	}
	return *r.StabilizationWindowSeconds
}

// changeInPeriod sums the replicas added (or removed) by the events of the
// last periodSeconds.
func changeInPeriod(now time.Time, periodSeconds int32, events []scaleEvent) int32 {
	cutoff := now.Add(-time.Duration(periodSeconds) * time.Second)
	var n int32
	for _, e := range events {
		if e.at.After(cutoff) {
			n += e.change
		}
	}
	return n
}

// scaleUpLimit is the most replicas the policies allow now: each policy
// allows its value (pods, or percent of the count at the start of its
// period) on top of that count; selectPolicy Max takes the most
// permissive, Min the least, Disabled allows no change.
func scaleUpLimit(now time.Time, current int32, events []scaleEvent, r *autoscalingv2.HPAScalingRules) int32 {
	sel := selectPolicy(r)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	var result int32
	first := true
	for _, p := range r.Policies {
		start := current - changeInPeriod(now, p.PeriodSeconds, events)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start + p.Value
		case autoscalingv2.PercentScalingPolicy:
			// Rounded up, or a small target could never grow.
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		}
		switch {
		case first:
			result, first = proposed, false
		case sel == autoscalingv2.MinChangePolicySelect:
			result = min(result, proposed)
		default:
			result = max(result, proposed)
		}
	}
	return result
}

// scaleDownLimit is the fewest replicas the policies allow now.
func scaleDownLimit(now time.Time, current int32, events []scaleEvent, r *autoscalingv2.HPAScalingRules) int32 {
	sel := selectPolicy(r)
	if sel == autoscalingv2.DisabledPolicySelect {
		return current
	}
	var result int32 = math.MaxInt32
	for _, p := range r.Policies {
		start := current + changeInPeriod(now, p.PeriodSeconds, events)
		var proposed int32
		switch p.Type {
		case autoscalingv2.PodsScalingPolicy:
			proposed = start - p.Value
		case autoscalingv2.PercentScalingPolicy:
			proposed = int32(float64(start) * (1 - float64(p.Value)/100))
		}
		if sel == autoscalingv2.MinChangePolicySelect {
			if result == math.MaxInt32 {
				result = proposed
			} else {
				result = max(result, proposed)
			}
		} else {
			result = min(result, proposed)
		}
	}
	return result
}

func selectPolicy(r *autoscalingv2.HPAScalingRules) autoscalingv2.ScalingPolicySelect {
	if r == nil || r.SelectPolicy == nil {
		return autoscalingv2.MaxChangePolicySelect
	}
	return *r.SelectPolicy
}

// recordScale remembers a rescale for the behavior policies, reusing an
// event slot older than the direction's longest policy period.
func (hs *history) recordScale(now time.Time, b *autoscalingv2.HorizontalPodAutoscalerBehavior, from, to int32) {
	if b == nil || from == to {
		return
	}
	events, rules, change := &hs.scaleUps, b.ScaleUp, to-from
	if to < from {
		events, rules, change = &hs.scaleDowns, b.ScaleDown, from-to
	}
	var longest int32
	if rules != nil {
		for _, p := range rules.Policies {
			longest = max(longest, p.PeriodSeconds)
		}
	}
	cutoff := now.Add(-time.Duration(longest) * time.Second)
	for i := range *events {
		if (*events)[i].at.Before(cutoff) {
			(*events)[i].outdated = true
		}
	}
	for i := range *events {
		if (*events)[i].outdated {
			(*events)[i] = scaleEvent{change: change, at: now}
			return
		}
	}
	*events = append(*events, scaleEvent{change: change, at: now})
}

// tolerancesFor applies behavior.scaleUp/scaleDown.tolerance over the
// controller's default tolerance.
func tolerancesFor(b *autoscalingv2.HorizontalPodAutoscalerBehavior, def float64) tolerances {
	t := tolerances{down: def, up: def}
	if b == nil {
		return t
	}
	if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
		t.down = b.ScaleDown.Tolerance.AsApproximateFloat64()
	}
	if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
		t.up = b.ScaleUp.Tolerance.AsApproximateFloat64()
	}
	return t
}
