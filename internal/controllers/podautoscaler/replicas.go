package podautoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podMetric is one pod's usage of a resource in milli-units (millicores,
// millibytes), summed over its containers, as upstream's metrics client.
type podMetric struct {
	value     int64
	timestamp time.Time
	window    time.Duration
}

// tolerances are the relative deviations from the target inside which the
// HPA does not scale (default 0.1 both ways; behavior.scaleUp/scaleDown
// .tolerance override them, as upstream's HPAConfigurableTolerance).
type tolerances struct{ down, up float64 }

func (t tolerances) within(ratio float64) bool {
	return ratio >= 1-t.down && ratio <= 1+t.up
}

// errNoPods and friends are the calculator's failures; the reconciler
// reports them in the ScalingActive condition.
var (
	errNoPods    = errors.New("no pods returned by selector while calculating replica count")
	errNoMetrics = errors.New("did not receive metrics for targeted pods (pods might be unready)")
)

// podGroups splits the target's pods as upstream's groupPods: ignored
// (being deleted or Failed), unready (Pending; for CPU also not Ready),
// missing (no metric) and ready.
//
// Simplification: upstream also treats a CPU sample as unready during the
// pod's first 5 minutes (cpuInitializationPeriod) when it was taken less
// than one metric window after the Ready transition, and ignores a pod
// that was never Ready within 30s of starting. kplane's usage is
// simulated and has no start-up spike, so a pod counts as ready for CPU
// exactly when its Ready condition is True.
type podGroups struct {
	ready                     int
	unready, missing, ignored map[string]bool
}

func groupPods(pods []*corev1.Pod, metrics map[string]podMetric, resource corev1.ResourceName) podGroups {
	g := podGroups{unready: map[string]bool{}, missing: map[string]bool{}, ignored: map[string]bool{}}
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodFailed:
			g.ignored[p.Name] = true
			continue
		case p.Status.Phase == corev1.PodPending:
			g.unready[p.Name] = true
			continue
		}
		if _, ok := metrics[p.Name]; !ok {
			g.missing[p.Name] = true
			continue
		}
		if resource == corev1.ResourceCPU && !podReady(p) {
			g.unready[p.Name] = true
			continue
		}
		g.ready++
	}
	return g
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podRequests sums each pod's container requests of resource (milli-units),
// or takes the named container's; a container without a request is an
// error, as upstream.
func podRequests(pods []*corev1.Pod, resource corev1.ResourceName, container string) (map[string]int64, error) {
	out := make(map[string]int64, len(pods))
	for _, p := range pods {
		var sum int64
		for _, c := range p.Spec.Containers {
			if container != "" && c.Name != container {
				continue
			}
			q, ok := c.Resources.Requests[resource]
			if !ok {
				return nil, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, p.Name)
			}
			sum += q.MilliValue()
		}
		out[p.Name] = sum
	}
	return out, nil
}

// utilizationRatio is upstream's GetResourceUtilizationRatio: total usage
// over total requests of the pods that have both, as a percentage, and its
// ratio to the target; raw is the average usage per pod.
func utilizationRatio(metrics map[string]podMetric, requests map[string]int64, target int32) (ratio float64, utilization int32, raw int64, err error) {
	var usage, req, n int64
	for name, m := range metrics {
		r, ok := requests[name]
		if !ok {
			continue
		}
		usage += m.value
		req += r
		n++
	}
	if req == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	utilization = int32(usage * 100 / req)
	return float64(utilization) / float64(target), utilization, usage / n, nil
}

// usageRatio is upstream's GetMetricUsageRatio: the average usage per pod
// and its ratio to the target average.
func usageRatio(metrics map[string]podMetric, target int64) (float64, int64) {
	var sum int64
	for _, m := range metrics {
		sum += m.value
	}
	avg := sum / int64(len(metrics))
	return float64(avg) / float64(target), avg
}

// withoutPods drops the metrics of the named pods.
func withoutPods(metrics map[string]podMetric, sets ...map[string]bool) map[string]podMetric {
	out := make(map[string]podMetric, len(metrics))
	for name, m := range metrics {
		drop := false
		for _, s := range sets {
			drop = drop || s[name]
		}
		if !drop {
			out[name] = m
		}
	}
	return out
}

// utilizationReplicas proposes a replica count for a Resource metric with
// an Utilization target (upstream's GetResourceReplicas): the ratio of
// usage to target over the ready pods, then, when pods are missing
// metrics or unready pods would join a scale-up, a second, conservative
// pass (missing pods use 100% of their request — or the target if higher
// — on a scale-down and 0% on a scale-up; unready pods 0% on a scale-up)
// that may cancel or dampen the change but never reverse it.
func utilizationReplicas(current int32, target int32, metrics map[string]podMetric, pods []*corev1.Pod, resource corev1.ResourceName, container string, tol tolerances) (replicas int32, utilization int32, raw int64, err error) {
	if len(pods) == 0 {
		return 0, 0, 0, errNoPods
	}
	g := groupPods(pods, metrics, resource)
	metrics = withoutPods(metrics, g.ignored, g.unready)
	if len(metrics) == 0 {
		return 0, 0, 0, errNoMetrics
	}
	requests, err := podRequests(pods, resource, container)
	if err != nil {
		return 0, 0, 0, err
	}
	ratio, utilization, raw, err := utilizationRatio(metrics, requests, target)
	if err != nil {
		return 0, 0, 0, err
	}
	scaleUpWithUnready := len(g.unready) > 0 && ratio > 1
	if !scaleUpWithUnready && len(g.missing) == 0 {
		if tol.within(ratio) {
			return current, utilization, raw, nil
		}
		return int32(math.Ceil(ratio * float64(g.ready))), utilization, raw, nil
	}
	if len(g.missing) > 0 {
		for name := range g.missing {
			v := int64(0)
			if ratio < 1 {
				v = max(requests[name], requests[name]*int64(target)/100)
			}
			metrics[name] = podMetric{value: v}
		}
	}
	if scaleUpWithUnready {
		for name := range g.unready {
			metrics[name] = podMetric{value: 0}
		}
	}
	newRatio, _, _, err := utilizationRatio(metrics, requests, target)
	if err != nil {
		return 0, 0, 0, err
	}
	return rebalanced(current, ratio, newRatio, len(metrics), tol), utilization, raw, nil
}

// averageValueReplicas proposes a replica count for a Resource metric with
// an AverageValue target (upstream's GetRawResourceReplicas and
// calcPlainMetricReplicas): like utilizationReplicas with per-pod average
// usage instead of percentages of requests; missing pods count as using
// the target on a scale-down and nothing on a scale-up.
func averageValueReplicas(current int32, target int64, metrics map[string]podMetric, pods []*corev1.Pod, resource corev1.ResourceName, tol tolerances) (replicas int32, usage int64, err error) {
	if len(pods) == 0 {
		return 0, 0, errNoPods
	}
	g := groupPods(pods, metrics, resource)
	metrics = withoutPods(metrics, g.ignored, g.unready)
	if len(metrics) == 0 {
		return 0, 0, errNoMetrics
	}
	ratio, usage := usageRatio(metrics, target)
	scaleUpWithUnready := len(g.unready) > 0 && ratio > 1
	if !scaleUpWithUnready && len(g.missing) == 0 {
		if tol.within(ratio) {
			return current, usage, nil
		}
		return int32(math.Ceil(ratio * float64(g.ready))), usage, nil
	}
	for name := range g.missing {
		v := int64(0)
		if ratio < 1 {
			v = target
		}
		metrics[name] = podMetric{value: v}
	}
	if scaleUpWithUnready {
		for name := range g.unready {
			metrics[name] = podMetric{value: 0}
		}
	}
	newRatio, _ := usageRatio(metrics, target)
	return rebalanced(current, ratio, newRatio, len(metrics), tol), usage, nil
}

// rebalanced is the second pass shared by both calculations: no change
// when the adjusted ratio is within tolerance or points the other way, and
// never a change against the direction of the first ratio.
func rebalanced(current int32, ratio, newRatio float64, pods int, tol tolerances) int32 {
	if tol.within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current
	}
	n := int32(math.Ceil(newRatio * float64(pods)))
	if (newRatio < 1 && n > current) || (newRatio > 1 && n < current) {
		return current
	}
	return n
}
