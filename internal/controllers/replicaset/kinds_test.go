package replicaset

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestReplicationControllerConversion(t *testing.T) {
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}}}
	tests := []struct {
		name string
		rc   *corev1.ReplicationController
	}{
		{name: "full", rc: &corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "u", Generation: 4, ResourceVersion: "9"},
			Spec:       corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](3), MinReadySeconds: 7, Selector: map[string]string{"app": "x"}, Template: tmpl},
			Status: corev1.ReplicationControllerStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 3,
				Conditions: []corev1.ReplicationControllerCondition{{Type: corev1.ReplicationControllerReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "m"}}},
		}},
		{name: "minimal", rc: &corev1.ReplicationController{
			ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "ns"},
			Spec:       corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](0), Template: tmpl},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := rcToRS(tc.rc)
			if replicas(rs) != *tc.rc.Spec.Replicas || rs.Spec.MinReadySeconds != tc.rc.Spec.MinReadySeconds || rs.UID != tc.rc.UID {
				t.Errorf("view %+v", rs.Spec)
			}
			if tc.rc.Spec.Selector != nil && !equality.Semantic.DeepEqual(rs.Spec.Selector.MatchLabels, tc.rc.Spec.Selector) {
				t.Errorf("selector %v", rs.Spec.Selector)
			}
			if len(tc.rc.Status.Conditions) > 0 && rs.Status.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure {
				t.Errorf("conditions %v", rs.Status.Conditions)
			}
			back := rsToRC(rs)
			if !equality.Semantic.DeepEqual(back, tc.rc) {
				t.Errorf("round trip:\n got %+v\nwant %+v", back, tc.rc)
			}
		})
	}
}
