package replicaset

import (
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podPhaseOrdinal orders phases for deletion: pending pods go first.
var podPhaseOrdinal = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// rankedPods sorts pods so that the ones to delete first come first, as
// upstream's ActivePodsWithRanks with PodDeletionCost and
// LogarithmicScaleDown enabled (both GA): unscheduled < scheduled;
// pending < unknown < running; not ready < ready; lower
// pod-deletion-cost < higher; more colocated pods of the same owner <
// fewer (rank); recently ready < ready longer (in log2 buckets); more
// restarts < fewer; newer < older (in log2 buckets).
type rankedPods struct {
	pods []*corev1.Pod
	// rank is, per pod, how many active related pods share its node.
	rank []int
	now  time.Time
}

func (s rankedPods) Len() int { return len(s.pods) }

func (s rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.rank[i], s.rank[j] = s.rank[j], s.rank[i]
}

func (s rankedPods) Less(i, j int) bool {
	pi, pj := s.pods[i], s.pods[j]
	if pi.Spec.NodeName != pj.Spec.NodeName && (pi.Spec.NodeName == "" || pj.Spec.NodeName == "") {
		return pi.Spec.NodeName == ""
	}
	if oi, oj := podPhaseOrdinal[pi.Status.Phase], podPhaseOrdinal[pj.Status.Phase]; oi != oj {
		return oi < oj
	}
	ri, rj := isPodReady(pi), isPodReady(pj)
	if ri != rj {
		return !ri
	}
	if ci, cj := deletionCost(pi), deletionCost(pj); ci != cj {
		return ci < cj
	}
	if s.rank[i] != s.rank[j] {
		return s.rank[i] > s.rank[j]
	}
	if ri && rj {
		ti, tj := readyTime(pi), readyTime(pj)
		if !ti.Equal(tj) {
			if s.now.IsZero() || ti.IsZero() || tj.IsZero() {
				return afterOrZero(ti, tj)
			}
			if d := logRankDiff(ti, tj, s.now); d != 0 {
				return d < 0
			}
			return pi.UID < pj.UID
		}
	}
	if res, ok := compareRestarts(pi, pj); ok {
		return res
	}
	ti, tj := pi.CreationTimestamp.Time, pj.CreationTimestamp.Time
	if !ti.Equal(tj) {
		if s.now.IsZero() || ti.IsZero() || tj.IsZero() {
			return afterOrZero(ti, tj)
		}
		if d := logRankDiff(ti, tj, s.now); d != 0 {
			return d < 0
		}
		return pi.UID < pj.UID
	}
	return false
}

// afterOrZero orders a zero time first, then the later time first.
func afterOrZero(t1, t2 time.Time) bool {
	if t1.IsZero() || t2.IsZero() {
		return t1.IsZero()
	}
	return t1.After(t2)
}

// logRankDiff compares the log2 of the ages of t1 and t2, so pods of
// similar age are treated alike and the tie is broken by UID (spreading
// scale-down randomly instead of always hitting the newest pod).
func logRankDiff(t1, t2, now time.Time) int64 {
	r1, r2 := int64(-1), int64(-1)
	if d := now.Sub(t1); d > 0 {
		r1 = int64(math.Log2(float64(d)))
	}
	if d := now.Sub(t2); d > 0 {
		r2 = int64(math.Log2(float64(d)))
	}
	return r1 - r2
}

// readyTime is when pod became Ready, zero if it is not.
func readyTime(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// maxRestarts returns the highest restart count of regular containers and
// of restartable init (sidecar) containers.
func maxRestarts(pod *corev1.Pod) (regular, sidecar int32) {
	for _, c := range pod.Status.ContainerStatuses {
		regular = max(regular, c.RestartCount)
	}
	sidecars := map[string]bool{}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars[c.Name] = true
		}
	}
	for _, c := range pod.Status.InitContainerStatuses {
		if sidecars[c.Name] {
			sidecar = max(sidecar, c.RestartCount)
		}
	}
	return regular, sidecar
}

// compareRestarts reports whether pi restarted more than pj; ok is false
// when they are equal.
func compareRestarts(pi, pj *corev1.Pod) (less, ok bool) {
	ri, si := maxRestarts(pi)
	rj, sj := maxRestarts(pj)
	if ri != rj {
		return ri > rj, true
	}
	if si != sj {
		return si > sj, true
	}
	return false, false
}

// deletionCost parses the controller.kubernetes.io/pod-deletion-cost
// annotation as upstream: invalid values (leading "+" or zeros, out of
// int32 range) count as 0.
func deletionCost(pod *corev1.Pod) int32 {
	v, ok := pod.Annotations[corev1.PodDeletionCost]
	if !ok || v == "" {
		return 0
	}
	if !(v[0] == '-' || v == "0" || (v[0] >= '1' && v[0] <= '9')) {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return int32(n)
}

// podsToDelete picks the diff lowest-ranked pods of filtered; related are
// the active pods of every ReplicaSet with the same owner, which decide
// how crowded each node is.
func podsToDelete(filtered, related []*corev1.Pod, diff int, now time.Time) []*corev1.Pod {
	if diff >= len(filtered) {
		return filtered
	}
	onNode := map[string]int{}
	for _, p := range related {
		if isPodActive(p) {
			onNode[p.Spec.NodeName]++
		}
	}
	pods := append([]*corev1.Pod(nil), filtered...)
	ranks := make([]int, len(pods))
	for i, p := range pods {
		ranks[i] = onNode[p.Spec.NodeName]
	}
	sort.Sort(rankedPods{pods: pods, rank: ranks, now: now})
	return pods[:diff]
}

// isPodReady reports the pod's Ready condition.
func isPodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// isPodAvailable reports whether pod has been ready for minReadySeconds.
func isPodAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if !isPodReady(pod) {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	var since metav1.Time
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			since = c.LastTransitionTime
			break
		}
	}
	return !since.IsZero() && since.Add(time.Duration(minReadySeconds)*time.Second).Before(now)
}

// isPodActive reports whether pod counts as a replica: not finished and
// not being deleted.
func isPodActive(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed && pod.DeletionTimestamp == nil
}

// isPodTerminating reports whether pod is being deleted but has not
// finished.
func isPodTerminating(pod *corev1.Pod) bool {
	return pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed && pod.DeletionTimestamp != nil
}
