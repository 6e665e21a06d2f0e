package framework

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodPriority is spec.priority, 0 when unset (upstream's
// corev1helpers.PodPriority).
func PodPriority(p *corev1.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

// notStarted ranks pods without status.startTime as the newest, as
// upstream (which uses the current time) but reproducibly.
var notStarted = time.Unix(1<<40, 0)

// PodStartTime is status.startTime; a pod that has not started (assumed,
// or bound but not running) counts as started after every running pod.
func PodStartTime(p *corev1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return notStarted
}

// MoreImportantPod orders preemption victims: higher priority first, then
// the pod running longer (upstream's util.MoreImportantPod).
func MoreImportantPod(a, b *corev1.Pod) bool {
	pa, pb := PodPriority(a), PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return PodStartTime(a).Before(PodStartTime(b))
}
