package ttlafterfinished

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestExpireAt(t *testing.T) {
	finishedAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := int32(30)
	for _, tc := range []struct {
		name    string
		conds   []batchv1.JobCondition
		ttl     *int32
		cleanup bool
		want    time.Time
	}{
		{name: "complete job expires ttl after it finished", ttl: &ttl, cleanup: true, want: finishedAt.Add(30 * time.Second),
			conds: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finishedAt)}}},
		{name: "failed job too", ttl: &ttl, cleanup: true, want: finishedAt.Add(30 * time.Second),
			conds: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finishedAt)}}},
		{name: "running job is kept", ttl: &ttl, cleanup: false,
			conds: []batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finishedAt)}}},
		{name: "no ttl is kept", cleanup: false,
			conds: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(finishedAt)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := &batchv1.Job{Spec: batchv1.JobSpec{TTLSecondsAfterFinished: tc.ttl}, Status: batchv1.JobStatus{Conditions: tc.conds}}
			if got := needsCleanup(j); got != tc.cleanup {
				t.Fatalf("needsCleanup = %v, want %v", got, tc.cleanup)
			}
			if !tc.cleanup {
				return
			}
			got, err := expireAt(j)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("expireAt = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
