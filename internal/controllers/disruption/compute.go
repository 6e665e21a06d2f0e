package disruption

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// deletionTimeout is how long a pod stays in status.disruptedPods waiting
// for its deletion to be observed (upstream's DeletionTimeout).
const deletionTimeout = 2 * time.Minute

// scaleFunc returns the desired replica count of the controller of pod,
// and that controller's UID so each controller counts once.
type scaleFunc func(pod *corev1.Pod) (uid string, replicas int32, err error)

// expected is upstream's getExpectedPodCount: the number of pods the
// budget expects and how many of them must be healthy.
func expected(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, scale scaleFunc) (expectedCount, desiredHealthy int32, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		if expectedCount, err = expectedScale(pods, scale); err != nil {
			return 0, 0, err
		}
		maxUnavailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(expectedCount), true)
		if err != nil {
			return 0, 0, err
		}
		desiredHealthy = max(expectedCount-int32(maxUnavailable), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desiredHealthy = pdb.Spec.MinAvailable.IntVal
		expectedCount = int32(len(pods))
	case pdb.Spec.MinAvailable != nil:
		if expectedCount, err = expectedScale(pods, scale); err != nil {
			return 0, 0, err
		}
		minAvailable, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(expectedCount), true)
		if err != nil {
			return 0, 0, err
		}
		desiredHealthy = int32(minAvailable)
	}
	return expectedCount, desiredHealthy, nil
}

// expectedScale sums the replicas of the pods' distinct controllers.
func expectedScale(pods []*corev1.Pod, scale scaleFunc) (int32, error) {
	seen := map[string]bool{}
	var n int32
	for _, p := range pods {
		uid, replicas, err := scale(p)
		if err != nil {
			return 0, err
		}
		if !seen[uid] {
			seen[uid] = true
			n += replicas
		}
	}
	return n, nil
}

// countHealthy counts the pods that are Ready, not being deleted and not
// being evicted (in disruptedPods); it also returns the disruptedPods
// entries still pending and when the next one expires (zero if none).
func countHealthy(pods []*corev1.Pod, disrupted map[string]metav1.Time, now time.Time) (healthy int32, pending map[string]metav1.Time, recheck time.Time) {
	pending = map[string]metav1.Time{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if t, ok := disrupted[p.Name]; ok {
			expires := t.Add(deletionTimeout)
			if expires.After(now) {
				pending[p.Name] = t
				if recheck.IsZero() || expires.Before(recheck) {
					recheck = expires
				}
				continue
			}
		}
		if podReady(p) {
			healthy++
		}
	}
	return healthy, pending, recheck
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// newStatus computes a budget's status; a nil error from scale lookups
// fills every field, an error yields the fail-safe status.
func newStatus(pdb *policyv1.PodDisruptionBudget, pods []*corev1.Pod, scale scaleFunc, now time.Time) (policyv1.PodDisruptionBudgetStatus, time.Time, error) {
	st := *pdb.Status.DeepCopy()
	st.ObservedGeneration = pdb.Generation
	expectedCount, desiredHealthy, err := expected(pdb, pods, scale)
	if err != nil {
		st.DisruptionsAllowed = 0
		setCondition(&st, metav1.ConditionFalse, policyv1.SyncFailedReason, err.Error(), now)
		return st, time.Time{}, err
	}
	healthy, pending, recheck := countHealthy(pods, pdb.Status.DisruptedPods, now)
	allowed := healthy - desiredHealthy
	if expectedCount <= 0 || allowed <= 0 {
		allowed = 0
	}
	st.CurrentHealthy, st.DesiredHealthy, st.ExpectedPods, st.DisruptionsAllowed = healthy, desiredHealthy, expectedCount, allowed
	st.DisruptedPods = pending
	if len(pending) == 0 {
		st.DisruptedPods = nil
	}
	if allowed > 0 {
		setCondition(&st, metav1.ConditionTrue, policyv1.SufficientPodsReason, "", now)
	} else {
		setCondition(&st, metav1.ConditionFalse, policyv1.InsufficientPodsReason, "", now)
	}
	return st, recheck, nil
}

func setCondition(st *policyv1.PodDisruptionBudgetStatus, status metav1.ConditionStatus, reason, message string, now time.Time) {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type != policyv1.DisruptionAllowedCondition {
			continue
		}
		if c.Status != status {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.Status, c.Reason, c.Message, c.ObservedGeneration = status, reason, message, st.ObservedGeneration
		return
	}
	st.Conditions = append(st.Conditions, metav1.Condition{
		Type: policyv1.DisruptionAllowedCondition, Status: status, Reason: reason, Message: message,
		ObservedGeneration: st.ObservedGeneration, LastTransitionTime: metav1.NewTime(now),
	})
}

// errNoController is a pod no supported controller owns.
type errNoController struct{ pod string }

func (e errNoController) Error() string { return fmt.Sprintf("found no controllers for pod %q", e.pod) }
