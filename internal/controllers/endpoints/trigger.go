package endpoints

import (
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TriggerTimeTracker computes the endpoints.kubernetes.io/last-change-
// trigger-time annotation: the earliest time of the pod or service
// changes not yet reflected, as upstream's TriggerTimeTracker. Pod change
// times are their Ready condition transitions; a service's is its
// creation.
type TriggerTimeTracker struct {
	mu     sync.Mutex // guards states
	states map[string]triggerState
}

type triggerState struct {
	lastService time.Time
	lastPods    map[string]time.Time
}

// NewTriggerTimeTracker returns an empty tracker.
func NewTriggerTimeTracker() *TriggerTimeTracker {
	return &TriggerTimeTracker{states: map[string]triggerState{}}
}

// Compute records the service's and pods' trigger times and returns the
// time to export (zero: export none). It must not run concurrently for
// the same service key.
func (t *TriggerTimeTracker) Compute(key string, svc *corev1.Service, pods []*corev1.Pod) time.Time {
	t.mu.Lock()
	state, known := t.states[key]
	t.mu.Unlock()

	var minChanged time.Time
	earliest := func(v time.Time) {
		if minChanged.IsZero() || v.Before(minChanged) {
			minChanged = v
		}
	}
	podTimes := make(map[string]time.Time, len(pods))
	for _, p := range pods {
		c := podReadyCondition(p)
		if c == nil || c.LastTransitionTime.IsZero() {
			continue
		}
		ts := c.LastTransitionTime.Time
		podTimes[p.Name] = ts
		if ts.After(state.lastPods[p.Name]) {
			earliest(ts)
		}
	}
	svcTime := svc.CreationTimestamp.Time
	if svcTime.After(state.lastService) {
		earliest(svcTime)
	}
	t.mu.Lock()
	t.states[key] = triggerState{lastService: svcTime, lastPods: podTimes}
	t.mu.Unlock()
	if !known {
		return svc.CreationTimestamp.Time
	}
	return minChanged
}

// Delete forgets a service.
func (t *TriggerTimeTracker) Delete(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.states, key)
}
