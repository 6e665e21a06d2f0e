package job

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxPodCreateDeletePerSync caps one sync's writes, as upstream's
// MaxPodCreateDeletePerSync.
const maxPodCreateDeletePerSync = 500

// manage creates or deletes pods so that the job runs as many as its
// parallelism and remaining completions allow.
func (c *Controller) manage(ctx context.Context, st *syncState, now time.Time) error {
	job := st.job
	want := wantActive(job, st.succeeded, len(st.active))
	if isIndexed(job) {
		if excess := excessIndexed(st); len(excess) > 0 {
			return c.deletePods(ctx, st, excess)
		}
	}
	if len(st.active) > want {
		rankForDeletion(st.active)
		return c.deletePods(ctx, st, st.active[:min(len(st.active)-want, maxPodCreateDeletePerSync)])
	}
	diff := want - len(st.active)
	if onlyReplaceFailed(job) {
		diff -= int(st.terminating)
	}
	if diff <= 0 {
		return nil
	}
	if wait := c.backoff.remaining(st.key, now); wait > 0 {
		c.queue.AddAfter(st.key, wait)
		return nil
	}
	diff = min(diff, maxPodCreateDeletePerSync)
	var indexes []int
	if isIndexed(job) {
		indexes = missingIndexes(st, diff)
		diff = len(indexes)
	}
	return c.createPods(ctx, st, diff, indexes)
}

// wantActive is how many pods should run: parallelism, at most the
// completions left; a job without completions keeps what runs once one
// pod succeeded.
func wantActive(j *batchv1.Job, succeeded int32, active int) int {
	if suspended(j) {
		return 0
	}
	parallelism := int(*j.Spec.Parallelism)
	if j.Spec.Completions == nil {
		if succeeded > 0 {
			return active
		}
		return parallelism
	}
	return max(0, min(parallelism, int(*j.Spec.Completions-succeeded)))
}

func onlyReplaceFailed(j *batchv1.Job) bool {
	return (j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed) || j.Spec.PodFailurePolicy != nil
}

// rankForDeletion puts the pods to delete first at the front: unscheduled
// before scheduled, pending before running, not ready before ready, newer
// before older (upstream's ActivePods order).
func rankForDeletion(pods []*corev1.Pod) {
	rank := func(p *corev1.Pod) [3]int {
		r := [3]int{}
		if p.Spec.NodeName != "" {
			r[0] = 1
		}
		if p.Status.Phase == corev1.PodRunning {
			r[1] = 1
		}
		if podReady(p) {
			r[2] = 1
		}
		return r
	}
	sort.SliceStable(pods, func(i, j int) bool {
		ri, rj := rank(pods[i]), rank(pods[j])
		if ri != rj {
			for k := range ri {
				if ri[k] != rj[k] {
					return ri[k] < rj[k]
				}
			}
		}
		return pods[i].CreationTimestamp.After(pods[j].CreationTimestamp.Time)
	})
}

// deletePods deletes pods of st, which then count as terminating.
func (c *Controller) deletePods(ctx context.Context, st *syncState, pods []*corev1.Pod) error {
	pods = append([]*corev1.Pod(nil), pods...)
	c.exp.Expect(st.key, 0, len(pods), c.clock.Now())
	var errs []error
	gone := map[string]bool{}
	for _, p := range pods {
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c.exp.Observe(st.key, 0, 1)
			gone[p.Name] = true
		case err != nil:
			c.exp.Observe(st.key, 0, 1)
			c.recorder.Eventf(st.job, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
			errs = append(errs, fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err))
		default:
			c.recorder.Eventf(st.job, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
			gone[p.Name] = true
			st.terminating++
		}
	}
	kept := st.active[:0]
	for _, p := range st.active {
		if !gone[p.Name] {
			kept = append(kept, p)
		} else if podReady(p) {
			st.ready--
		}
	}
	st.active = kept
	return errors.Join(errs...)
}

// createPods creates n pods (for the given completion indexes of an
// Indexed job) in slow-start batches of 1, 2, 4, ... so that a failing
// webhook or quota costs few requests.
func (c *Controller) createPods(ctx context.Context, st *syncState, n int, indexes []int) error {
	c.exp.Expect(st.key, n, 0, c.clock.Now())
	created, next := 0, 0
	var errs []error
	for batch := 1; next < n; batch *= 2 {
		size := min(batch, n-next)
		var (
			wg sync.WaitGroup
			mu sync.Mutex // guards created and errs
		)
		for i := next; i < next+size; i++ {
			ix := -1
			if indexes != nil {
				ix = indexes[i]
			}
			wg.Go(func() {
				p, err := c.client.CoreV1().Pods(st.job.Namespace).Create(ctx, newPod(st.job, ix), metav1.CreateOptions{})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					c.exp.Observe(st.key, 1, 0)
					c.recorder.Eventf(st.job, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
					errs = append(errs, fmt.Errorf("create pod for job %s: %w", st.key, err))
					return
				}
				created++
				c.recorder.Eventf(st.job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", p.Name)
			})
		}
		wg.Wait()
		next += size
		if len(errs) > 0 {
			// The rest of this sync's creations are skipped.
			c.exp.Observe(st.key, n-next, 0)
			break
		}
	}
	st.created += int32(created)
	return errors.Join(errs...)
}

// newPod builds a pod from the job's template, owned by the job and
// carrying the tracking finalizer; ix ≥ 0 is an Indexed job's completion
// index.
func newPod(j *batchv1.Job, ix int) *corev1.Pod {
	t := j.Spec.Template.DeepCopy()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    j.Name + "-",
			Namespace:       j.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      append(t.Finalizers, batchv1.JobTrackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(j, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		Spec: t.Spec,
	}
	if ix < 0 {
		return p
	}
	s := strconv.Itoa(ix)
	p.GenerateName = j.Name + "-" + s + "-"
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	p.Annotations[batchv1.JobCompletionIndexAnnotation] = s
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[batchv1.JobCompletionIndexAnnotation] = s
	if p.Spec.Hostname == "" {
		p.Spec.Hostname = j.Name + "-" + s
	}
	env := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['" + batchv1.JobCompletionIndexAnnotation + "']"},
	}}
	for i := range p.Spec.InitContainers {
		p.Spec.InitContainers[i].Env = append(p.Spec.InitContainers[i].Env, env)
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Env = append(p.Spec.Containers[i].Env, env)
	}
	return p
}
