package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/plugins"
)

// reasonSchedulerError is the PodScheduled reason for internal errors.
const reasonSchedulerError = "SchedulerError"

// scheduleOne runs one scheduling cycle for a pod and hands the binding
// to a bounded worker.
func (s *Scheduler) scheduleOne(ctx context.Context, qp *QueuedPod) {
	pod := qp.Pod
	if s.cache.Has(pod.UID) {
		return // assumed or bound meanwhile
	}
	start := time.Now()
	cycle := s.queue.Cycle()
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	if nom := s.nominator.nodeOf(pod.UID); nom != "" && nom != pod.Status.NominatedNodeName {
		// Nominated in this process; the status patch is not back yet.
		cp := *pod
		cp.Status.NominatedNodeName = nom
		pod = &cp
	}
	res, err := s.alg.Schedule(ctx, state, s.snapshot, pod, qp.class)
	if err != nil {
		var fe *framework.FitError
		switch {
		case errors.As(err, &fe):
			s.observe(resultUnschedulable, start)
			if res.Nomination != nil {
				s.nominator.add(qp.Pod, res.Nomination.NominatedNodeName)
			}
			s.fail(ctx, qp, cycle, true, corev1.PodReasonUnschedulable, fe.Error(), res.Nomination)
		case errors.Is(err, errNoNodes):
			s.observe(resultUnschedulable, start)
			s.fail(ctx, qp, cycle, true, corev1.PodReasonUnschedulable, err.Error(), nil)
		default:
			s.log.Error("scheduling failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			s.observe(resultError, start)
			s.fail(ctx, qp, cycle, false, reasonSchedulerError, err.Error(), nil)
		}
		return
	}
	s.nominator.remove(pod.UID)
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = res.Node
	if err := s.cache.AssumePod(assumed); err != nil {
		s.observe(resultError, start)
		s.fail(ctx, qp, cycle, false, reasonSchedulerError, err.Error(), nil)
		return
	}
	if st := s.profile.RunReserve(ctx, state, assumed, res.Node); !st.IsSuccess() {
		s.cache.ForgetPod(assumed)
		s.observe(resultError, start)
		s.fail(ctx, qp, cycle, false, reasonSchedulerError, st.Message(), nil)
		return
	}
	if !s.acquire(ctx) {
		s.cache.ForgetPod(assumed)
		return
	}
	s.bindWG.Add(1)
	go func() {
		defer s.bindWG.Done()
		defer s.release()
		s.bind(ctx, state, qp, assumed, cycle, start)
	}()
}

func (s *Scheduler) acquire(ctx context.Context) bool {
	select {
	case s.binds <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Scheduler) release() { <-s.binds }

// bind writes the placement; on failure the assumption is forgotten and
// the pod retried after backoff.
func (s *Scheduler) bind(ctx context.Context, state *framework.CycleState, qp *QueuedPod, assumed *corev1.Pod, cycle int64, start time.Time) {
	bstart := time.Now()
	st := s.profile.RunBind(ctx, state, assumed, assumed.Spec.NodeName)
	if !st.IsSuccess() {
		s.metrics.bindLatency.WithLabelValues(resultError).Observe(time.Since(bstart).Seconds())
		s.cache.ForgetPod(assumed)
		s.profile.RunUnreserve(ctx, state, assumed, assumed.Spec.NodeName)
		err := st.AsError()
		if apierrors.IsNotFound(err) || ctx.Err() != nil {
			return // deleted, or shutting down
		}
		s.observe(resultError, start)
		s.log.Info("binding failed", "pod", assumed.Namespace+"/"+assumed.Name, "node", assumed.Spec.NodeName, "err", err)
		s.failAsync(ctx, qp, cycle, false, reasonSchedulerError, fmt.Sprintf("binding rejected: %v", err))
		return
	}
	s.cache.FinishBinding(assumed)
	s.metrics.bindLatency.WithLabelValues(resultScheduled).Observe(time.Since(bstart).Seconds())
	s.observe(resultScheduled, start)
	s.metrics.e2eLatency.WithLabelValues(resultScheduled, s.cfg.SchedulerName).Observe(time.Since(qp.InitialAttempt).Seconds())
	s.recorder.Eventf(qp.Pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", assumed.Namespace, assumed.Name, assumed.Spec.NodeName)
}

func (s *Scheduler) observe(result string, start time.Time) {
	s.metrics.attempts.WithLabelValues(result, s.cfg.SchedulerName).Inc()
	s.metrics.attemptLatency.WithLabelValues(result, s.cfg.SchedulerName).Observe(time.Since(start).Seconds())
}

// fail requeues the pod, records a FailedScheduling event and sets
// PodScheduled=False (and the nomination, when preemption changed it) in
// the background.
func (s *Scheduler) fail(ctx context.Context, qp *QueuedPod, cycle int64, unschedulable bool, reason, msg string, nom *framework.PostFilterResult) {
	if unschedulable {
		s.queue.AddUnschedulable(qp, cycle)
	} else {
		s.queue.AddBackoff(qp)
	}
	s.recorder.Event(qp.Pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	if !s.acquire(ctx) {
		return
	}
	s.bindWG.Add(1)
	go func() {
		defer s.bindWG.Done()
		defer s.release()
		s.patchStatus(ctx, qp.Pod, &corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}, nom)
	}()
}

// failAsync is fail from a binding worker, which already holds a slot.
func (s *Scheduler) failAsync(ctx context.Context, qp *QueuedPod, cycle int64, unschedulable bool, reason, msg string) {
	if unschedulable {
		s.queue.AddUnschedulable(qp, cycle)
	} else {
		s.queue.AddBackoff(qp)
	}
	s.recorder.Event(qp.Pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	s.patchStatus(ctx, qp.Pod, &corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg}, nil)
}

// patchStatus sets a condition (nil: none) and the nominated node (nil:
// unchanged; "" clears it) unless the pod already says exactly that.
func (s *Scheduler) patchStatus(ctx context.Context, pod *corev1.Pod, c *corev1.PodCondition, nom *framework.PostFilterResult) {
	status := map[string]any{}
	if c != nil {
		same := false
		for _, old := range pod.Status.Conditions {
			if old.Type == c.Type && old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
				same = true
			}
		}
		if !same {
			status["conditions"] = []any{map[string]any{
				"type": c.Type, "status": c.Status, "reason": c.Reason, "message": c.Message,
				"lastProbeTime": nil, "lastTransitionTime": metav1.Now(),
			}}
		}
	}
	if nom != nil && nom.NominatedNodeName != pod.Status.NominatedNodeName {
		if nom.NominatedNodeName == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = nom.NominatedNodeName
		}
	}
	if len(status) == 0 {
		return
	}
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.log.Info("updating pod status failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// binder is the DefaultBinder: it POSTs a Binding to pods/binding.
type binder struct{ client kubernetes.Interface }

var _ framework.BindPlugin = (*binder)(nil)

// Name implements framework.Plugin.
func (*binder) Name() string { return plugins.NameDefaultBinder }

// Bind implements framework.BindPlugin.
func (b *binder) Bind(ctx context.Context, _ *framework.CycleState, pod *corev1.Pod, node string) *framework.Status {
	err := b.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		return framework.AsStatus(fmt.Errorf("bind %s/%s to %s: %w", pod.Namespace, pod.Name, node, err))
	}
	return nil
}
