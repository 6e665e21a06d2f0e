package deployment_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// rolloutWatch checks a rolling update's bounds at every state a watch
// observes. Pods and ReplicaSets are watched separately (each stream is
// ordered by resourceVersion, so every state checked really existed):
//   - ReplicaSets: sum of spec.replicas (the pods the controllers keep)
//     <= replicas+maxSurge and sum of status.availableReplicas >=
//     replicas-maxUnavailable;
//   - pods: Ready pods >= replicas-maxUnavailable.
//
// The number of pod objects is measured but not bounded: as upstream, the
// surge accounting is by ReplicaSet size, so a pod of a scaled-down old
// ReplicaSet may briefly coexist with its replacement until the
// replicaset controller deletes it (upstream likewise does not count
// terminating pods against maxSurge).
type rolloutWatch struct {
	maxTotal, minAvailable int32

	mu         sync.Mutex // guards the fields below
	states     int
	violations []string
	peakTotal  int32
	peakPods   int32
	lowAvail   int32
	wg         sync.WaitGroup
	cancel     context.CancelFunc
}

// watchRollout starts watching ns; call after the previous rollout is
// complete and before changing the template.
func (c *cluster) watchRollout(t testing.TB, ns string, replicas, surge, unavailable int32) *rolloutWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rw := &rolloutWatch{maxTotal: replicas + surge, minAvailable: replicas - unavailable, cancel: cancel, lowAvail: replicas}

	rsList, err := c.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list replica sets: %v", err)
	}
	rsState := map[string][2]int32{}
	for _, rs := range rsList.Items {
		rsState[rs.Name] = [2]int32{*rs.Spec.Replicas, rs.Status.AvailableReplicas}
	}
	rsW, err := c.admin.AppsV1().ReplicaSets(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: rsList.ResourceVersion})
	if err != nil {
		t.Fatalf("watch replica sets: %v", err)
	}
	podList, err := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	podState := map[string]bool{}
	for i := range podList.Items {
		if p := &podList.Items[i]; p.DeletionTimestamp == nil {
			podState[p.Name] = ready(p)
		}
	}
	podW, err := c.admin.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: podList.ResourceVersion})
	if err != nil {
		t.Fatalf("watch pods: %v", err)
	}
	rw.checkRS(rsState)
	rw.checkPods(podState)
	rw.wg.Go(func() {
		for ev := range rsW.ResultChan() {
			rs, ok := ev.Object.(*appsv1.ReplicaSet)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(rsState, rs.Name)
			} else {
				rsState[rs.Name] = [2]int32{*rs.Spec.Replicas, rs.Status.AvailableReplicas}
			}
			rw.checkRS(rsState)
		}
	})
	rw.wg.Go(func() {
		for ev := range podW.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted || p.DeletionTimestamp != nil {
				delete(podState, p.Name)
			} else {
				podState[p.Name] = ready(p)
			}
			rw.checkPods(podState)
		}
	})
	t.Cleanup(rw.stop)
	return rw
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (rw *rolloutWatch) checkRS(state map[string][2]int32) {
	var spec, avail int32
	for _, v := range state {
		spec += v[0]
		avail += v[1]
	}
	rw.record("replicasets", spec, avail)
}

func (rw *rolloutWatch) checkPods(state map[string]bool) {
	var total, avail int32
	for _, r := range state {
		total++
		if r {
			avail++
		}
	}
	rw.mu.Lock()
	rw.peakPods = max(rw.peakPods, total)
	rw.mu.Unlock()
	rw.record("pods", -1, avail)
}

func (rw *rolloutWatch) record(what string, total, avail int32) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.states++
	rw.peakTotal = max(rw.peakTotal, total)
	rw.lowAvail = min(rw.lowAvail, avail)
	if total >= 0 && total > rw.maxTotal {
		rw.violations = append(rw.violations, fmt.Sprintf("%s: total %d > replicas+maxSurge %d", what, total, rw.maxTotal))
	}
	if avail < rw.minAvailable {
		rw.violations = append(rw.violations, fmt.Sprintf("%s: available %d < replicas-maxUnavailable %d", what, avail, rw.minAvailable))
	}
}

// stop ends the watches.
func (rw *rolloutWatch) stop() {
	rw.cancel()
	rw.wg.Wait()
}

// verify stops the watch and fails the test on any violation.
func (rw *rolloutWatch) verify(t testing.TB) {
	t.Helper()
	rw.stop()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for i, v := range rw.violations {
		if i == 10 {
			t.Errorf("... and %d more violations", len(rw.violations)-10)
			break
		}
		t.Error(v)
	}
	if rw.states < 4 {
		t.Errorf("watch observed only %d states; the rollout was not observed", rw.states)
	}
	t.Logf("observed %d states: peak replicas %d (limit %d), lowest available %d (limit %d), peak pod objects %d",
		rw.states, rw.peakTotal, rw.maxTotal, rw.lowAvail, rw.minAvailable, rw.peakPods)
}
