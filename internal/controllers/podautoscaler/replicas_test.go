package podautoscaler

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// tpod is a test pod: name, phase, Ready, CPU request (empty for none).
type tpod struct {
	name     string
	phase    corev1.PodPhase
	ready    bool
	request  string
	deleting bool
}

func (p tpod) pod() *corev1.Pod {
	out := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name}, Status: corev1.PodStatus{Phase: p.phase}}
	if out.Status.Phase == "" {
		out.Status.Phase = corev1.PodRunning
	}
	st := corev1.ConditionFalse
	if p.ready {
		st = corev1.ConditionTrue
	}
	out.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	c := corev1.Container{Name: "c"}
	if p.request != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(p.request)}
	}
	out.Spec.Containers = []corev1.Container{c}
	if p.deleting {
		out.DeletionTimestamp = &metav1.Time{}
	}
	return out
}

// ready makes n Ready Running pods p0..p(n-1) requesting 1 CPU.
func ready(n int) []tpod {
	var out []tpod
	for i := 0; i < n; i++ {
		out = append(out, tpod{name: fmt.Sprintf("p%d", i), ready: true, request: "1"})
	}
	return out
}

func build(ps []tpod, usage map[string]int64) ([]*corev1.Pod, map[string]podMetric) {
	var pods []*corev1.Pod
	for _, p := range ps {
		pods = append(pods, p.pod())
	}
	m := map[string]podMetric{}
	for name, v := range usage {
		m[name] = podMetric{value: v}
	}
	return pods, m
}

var defaultTol = tolerances{down: 0.1, up: 0.1}

func TestUtilizationReplicas(t *testing.T) {
	for _, tc := range []struct {
		name     string
		current  int32
		target   int32
		pods     []tpod
		usage    map[string]int64 // millicores
		tol      *tolerances
		want     int32
		wantUtil int32
		wantErr  string
	}{
		{name: "scale up by the usage ratio", current: 3, target: 50, pods: ready(3),
			usage: map[string]int64{"p0": 900, "p1": 900, "p2": 900}, want: 6, wantUtil: 90},
		{name: "within tolerance keeps the count", current: 3, target: 50, pods: ready(3),
			usage: map[string]int64{"p0": 520, "p1": 540, "p2": 500}, want: 3, wantUtil: 52},
		{name: "scale down", current: 3, target: 50, pods: ready(3),
			usage: map[string]int64{"p0": 100, "p1": 100, "p2": 100}, want: 1, wantUtil: 10},
		{name: "configured tolerance widens the dead band", current: 3, target: 50, pods: ready(3), tol: &tolerances{down: 0.5, up: 0.1},
			usage: map[string]int64{"p0": 300, "p1": 300, "p2": 300}, want: 3, wantUtil: 30},
		{name: "missing pod counts as its full request on a scale down", current: 4, target: 50, pods: ready(3),
			// 100+100+1000 of 3000 = 40%: ratio 0.8, ceil(0.8*3) = 3.
			usage: map[string]int64{"p0": 100, "p1": 100}, want: 3, wantUtil: 10},
		{name: "missing pod counts as zero on a scale up", current: 3, target: 50, pods: ready(3),
			// 1000+1000+0 of 3000 = 66%: ratio 1.32, ceil(1.32*3) = 4.
			usage: map[string]int64{"p0": 1000, "p1": 1000}, want: 4, wantUtil: 100},
		{name: "unready pods count as zero on a scale up", current: 3, target: 50,
			pods:  append(ready(2), tpod{name: "u", request: "1"}),
			usage: map[string]int64{"p0": 1000, "p1": 1000, "u": 1000}, want: 4, wantUtil: 100},
		{name: "unready pods cancelling a scale up keep the count", current: 4, target: 50,
			pods:  append(ready(2), tpod{name: "u1", request: "1"}, tpod{name: "u2", phase: corev1.PodPending, request: "1"}),
			usage: map[string]int64{"p0": 1000, "p1": 1000, "u1": 1000}, want: 4, wantUtil: 100},
		{name: "unready pods are left out of a scale down", current: 3, target: 50,
			pods:  append(ready(2), tpod{name: "u", request: "1"}),
			usage: map[string]int64{"p0": 100, "p1": 100, "u": 900}, want: 1, wantUtil: 10},
		{name: "deleting and failed pods are ignored", current: 2, target: 50,
			pods:  append(ready(2), tpod{name: "d", ready: true, request: "1", deleting: true}, tpod{name: "f", phase: corev1.PodFailed, request: "1"}),
			usage: map[string]int64{"p0": 1000, "p1": 1000, "d": 0}, want: 4, wantUtil: 100},
		{name: "a container without a request is an error", current: 2, target: 50,
			pods:  append(ready(1), tpod{name: "x", ready: true}),
			usage: map[string]int64{"p0": 100, "x": 100}, wantErr: "missing request for cpu in container c of Pod x"},
		{name: "no pods", current: 2, target: 50, wantErr: errNoPods.Error()},
		{name: "no metrics for ready pods", current: 2, target: 50, pods: ready(2), usage: map[string]int64{}, wantErr: errNoMetrics.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pods, m := build(tc.pods, tc.usage)
			tol := defaultTol
			if tc.tol != nil {
				tol = *tc.tol
			}
			got, util, _, err := utilizationReplicas(tc.current, tc.target, m, pods, corev1.ResourceCPU, "", tol)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || util != tc.wantUtil {
				t.Errorf("replicas, utilization = %d, %d%%; want %d, %d%%", got, util, tc.want, tc.wantUtil)
			}
		})
	}
}

func TestAverageValueReplicas(t *testing.T) {
	for _, tc := range []struct {
		name      string
		current   int32
		target    int64
		pods      []tpod
		usage     map[string]int64
		want      int32
		wantUsage int64
	}{
		{name: "scale up", current: 2, target: 100, pods: ready(2), usage: map[string]int64{"p0": 300, "p1": 100}, want: 4, wantUsage: 200},
		{name: "scale down", current: 4, target: 100, pods: ready(4), usage: map[string]int64{"p0": 50, "p1": 50, "p2": 50, "p3": 50}, want: 2, wantUsage: 50},
		{name: "within tolerance", current: 2, target: 100, pods: ready(2), usage: map[string]int64{"p0": 105, "p1": 95}, want: 2, wantUsage: 100},
		{name: "missing pod counts as the target on a scale down", current: 3, target: 100, pods: ready(3),
			// (10+10+100)/3 = 40: ratio 0.4, ceil(1.2) = 2.
			usage: map[string]int64{"p0": 10, "p1": 10}, want: 2, wantUsage: 10},
		{name: "missing pod counts as zero on a scale up", current: 3, target: 100, pods: ready(3),
			// (300+300+0)/3 = 200: ceil(2*3) = 6.
			usage: map[string]int64{"p0": 300, "p1": 300}, want: 6, wantUsage: 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pods, m := build(tc.pods, tc.usage)
			got, usage, err := averageValueReplicas(tc.current, tc.target, m, pods, corev1.ResourceMemory, defaultTol)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || usage != tc.wantUsage {
				t.Errorf("replicas, usage = %d, %d; want %d, %d", got, usage, tc.want, tc.wantUsage)
			}
		})
	}
}

func TestMemoryIgnoresReadiness(t *testing.T) {
	// Readiness only matters for CPU, as upstream.
	pods, m := build([]tpod{{name: "u", request: "1"}}, map[string]int64{"u": 300})
	got, _, err := averageValueReplicas(1, 100, m, pods, corev1.ResourceMemory, defaultTol)
	if err != nil || got != 3 {
		t.Errorf("memory of an unready pod: %d, %v; want 3", got, err)
	}
	if _, _, err := averageValueReplicas(1, 100, m, pods, corev1.ResourceCPU, defaultTol); !errors.Is(err, errNoMetrics) {
		t.Errorf("cpu of an unready pod: err = %v, want errNoMetrics", err)
	}
}

func TestPodRequests(t *testing.T) {
	p := tpod{name: "p", ready: true, request: "100m"}.pod()
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "side",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}})
	for _, tc := range []struct {
		container string
		want      int64
	}{{"", 2100}, {"c", 100}, {"side", 2000}} {
		got, err := podRequests([]*corev1.Pod{p}, corev1.ResourceCPU, tc.container)
		if err != nil || got["p"] != tc.want {
			t.Errorf("podRequests(container %q) = %v, %v; want %d", tc.container, got, err, tc.want)
		}
	}
	if _, err := podRequests([]*corev1.Pod{p}, corev1.ResourceMemory, "c"); err == nil {
		t.Error("missing memory request of container c accepted")
	}
}
