package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
	"kplane/internal/scheduler/plugins"
)

// evictor carries out what DefaultPreemption decided, through the API as
// upstream's prepareCandidate: each victim gets the DisruptionTarget
// condition, is deleted gracefully and gets a Preempted event; pods of
// lower priority nominated to the node lose their nomination.
type evictor struct{ s *Scheduler }

var _ plugins.Evictor = evictor{}

// maxParallelEvictions bounds the API calls one preemption makes at once.
const maxParallelEvictions = 16

// Preempt implements plugins.Evictor.
func (e evictor) Preempt(ctx context.Context, preemptor *corev1.Pod, node string, victims []*corev1.Pod) error {
	s := e.s
	s.metrics.preemptionAttempts.Inc()
	s.metrics.preemptionVictims.Observe(float64(len(victims)))
	var (
		mu   sync.Mutex // guards errs
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, maxParallelEvictions)
	)
	for _, v := range victims {
		if v.DeletionTimestamp != nil {
			continue // already going
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.evict(ctx, preemptor, node, v); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, p := range s.nominator.lowerPriority(node, framework.PodPriority(preemptor)) {
		s.nominator.remove(p.UID)
		s.patchStatus(ctx, p, nil, &framework.PostFilterResult{})
	}
	s.log.Info("preempted", "pod", preemptor.Namespace+"/"+preemptor.Name, "node", node, "victims", len(victims))
	return errors.Join(errs...)
}

// evict marks and deletes one victim.
func (s *Scheduler) evict(ctx context.Context, preemptor *corev1.Pod, node string, v *corev1.Pod) error {
	cond := map[string]any{
		"type": corev1.DisruptionTarget, "status": corev1.ConditionTrue, "reason": corev1.PodReasonPreemptionByScheduler,
		"message":            fmt.Sprintf("%s: preempting to accommodate a higher priority pod", s.cfg.SchedulerName),
		"lastTransitionTime": metav1.Now(),
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []any{cond}}})
	if err != nil {
		return err
	}
	_, err = s.client.CoreV1().Pods(v.Namespace).Patch(ctx, v.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark victim %s/%s: %w", v.Namespace, v.Name, err)
	}
	uid := v.UID
	err = s.client.CoreV1().Pods(v.Namespace).Delete(ctx, v.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by a pod of the same name
	}
	if err != nil {
		return fmt.Errorf("delete victim %s/%s: %w", v.Namespace, v.Name, err)
	}
	s.recorder.Eventf(v, corev1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
	return nil
}

// listPDBs feeds preemption the cluster's PodDisruptionBudgets.
func (s *Scheduler) listPDBs() []*policyv1.PodDisruptionBudget {
	if s.pdbs == nil {
		return nil
	}
	out, err := s.pdbs.List(labels.Everything())
	if err != nil {
		return nil
	}
	return out
}
