package replicaset

import (
	"context"
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// statusUpdateRetries is how often a failed status write is retried after
// a fresh GET (upstream: once).
const statusUpdateRetries = 1

// calculateStatus counts active pods into the status and sets or clears
// the ReplicaFailure condition from the last create/delete error.
// terminating is nil when the kind has no terminatingReplicas field.
func calculateStatus(rs *appsv1.ReplicaSet, active []*corev1.Pod, terminating *int32, manageErr error, now time.Time) appsv1.ReplicaSetStatus {
	st := rs.Status
	st.Conditions = append([]appsv1.ReplicaSetCondition(nil), rs.Status.Conditions...)
	fully, ready, available := 0, 0, 0
	tmpl := labels.Set(rs.Spec.Template.Labels).AsSelectorPreValidated()
	for _, pod := range active {
		if tmpl.Matches(labels.Set(pod.Labels)) {
			fully++
		}
		if isPodReady(pod) {
			ready++
			if isPodAvailable(pod, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	failure := condition(rs.Status, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := ""
		if diff := len(active) - int(replicas(rs)); diff < 0 {
			reason = "FailedCreate"
		} else if diff > 0 {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		kept := st.Conditions[:0]
		for _, c := range st.Conditions {
			if c.Type != appsv1.ReplicaSetReplicaFailure {
				kept = append(kept, c)
			}
		}
		st.Conditions = kept
	}
	if len(st.Conditions) == 0 {
		st.Conditions = nil
	}
	st.Replicas = int32(len(active))
	st.FullyLabeledReplicas = int32(fully)
	st.ReadyReplicas = int32(ready)
	st.AvailableReplicas = int32(available)
	st.TerminatingReplicas = terminating
	return st
}

func condition(st appsv1.ReplicaSetStatus, t appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// replicas is spec.replicas, 1 when unset (the API server defaults it).
func replicas(rs *appsv1.ReplicaSet) int32 {
	if rs.Spec.Replicas == nil {
		return 1
	}
	return *rs.Spec.Replicas
}

// statusUnchanged reports whether writing st would change nothing.
func statusUnchanged(rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) bool {
	old := rs.Status
	return old.Replicas == st.Replicas &&
		old.FullyLabeledReplicas == st.FullyLabeledReplicas &&
		old.ReadyReplicas == st.ReadyReplicas &&
		old.AvailableReplicas == st.AvailableReplicas &&
		ptr.Equal(old.TerminatingReplicas, st.TerminatingReplicas) &&
		rs.Generation == old.ObservedGeneration &&
		reflect.DeepEqual(old.Conditions, st.Conditions)
}

// updateStatus writes st with observedGeneration = generation, retrying
// once on a fresh copy. rs is a cache view and is not modified.
func (c *Controller) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet, st appsv1.ReplicaSetStatus) (*appsv1.ReplicaSet, error) {
	if statusUnchanged(rs, st) {
		return rs, nil
	}
	// The generation acted on, even if a retry reads a newer one.
	st.ObservedGeneration = rs.Generation
	cur := rs
	for i := 0; ; i++ {
		w := *cur // shallow: only Status is replaced
		w.Status = st
		out, err := c.kind.updateStatus(ctx, &w)
		if err == nil {
			return out, nil
		}
		if i >= statusUpdateRetries {
			return nil, err
		}
		if cur, err = c.kind.getFresh(ctx, rs.Namespace, rs.Name); err != nil {
			return nil, err
		}
	}
}
