package job

import (
	"context"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Pod failure backoff as upstream: 10s doubling per consecutive failure,
// at most 10 minutes.
const (
	podFailureBackoff    = 10 * time.Second
	maxPodFailureBackoff = 10 * time.Minute
)

// removeFinalizerPatch deletes only the tracking finalizer, leaving other
// finalizers alone (as upstream's strategic merge directive).
var removeFinalizerPatch = []byte(`{"metadata":{"$deleteFromPrimitiveList/finalizers":["` + batchv1.JobTrackingFinalizer + `"]}}`)

func (c *Controller) removeFinalizer(ctx context.Context, p *corev1.Pod) error {
	_, err := c.client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, removeFinalizerPatch, metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func finished(j *batchv1.Job) bool {
	return conditionTrue(j, batchv1.JobComplete) || conditionTrue(j, batchv1.JobFailed)
}

func suspended(j *batchv1.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

func isIndexed(j *batchv1.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion
}

func completions(j *batchv1.Job) int {
	if j.Spec.Completions == nil {
		return 0
	}
	return int(*j.Spec.Completions)
}

func findCondition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func conditionTrue(j *batchv1.Job, t batchv1.JobConditionType) bool {
	c := findCondition(j, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

func newCondition(t batchv1.JobConditionType, reason, msg string, now time.Time) *batchv1.JobCondition {
	ts := metav1.NewTime(now)
	return &batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: ts, LastTransitionTime: ts}
}

// setCondition adds cond or updates the condition of its type, keeping
// the transition time when the status does not change.
func setCondition(j *batchv1.Job, cond *batchv1.JobCondition) {
	if cur := findCondition(j, cond.Type); cur != nil {
		if cur.Status == cond.Status {
			cond.LastTransitionTime = cur.LastTransitionTime
		}
		*cur = *cond
		return
	}
	j.Status.Conditions = append(j.Status.Conditions, *cond)
}

func pastDeadline(j *batchv1.Job, now time.Time) bool {
	if j.Spec.ActiveDeadlineSeconds == nil || j.Status.StartTime == nil || suspended(j) {
		return false
	}
	return now.Sub(j.Status.StartTime.Time) >= time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second
}

func hasFinalizer(p *corev1.Pod) bool {
	for _, f := range p.Finalizers {
		if f == batchv1.JobTrackingFinalizer {
			return true
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podFailed counts a deleted, unfinished pod as failed unless the job
// only replaces pods that reached phase Failed (podReplacementPolicy
// Failed or a podFailurePolicy), as upstream.
func podFailed(j *batchv1.Job, p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	if (j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batchv1.Failed) || j.Spec.PodFailurePolicy != nil {
		return false
	}
	return p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

// backoffStore remembers consecutive pod failures per job to delay
// replacements.
type backoffStore struct {
	mu sync.Mutex // guards m
	m  map[string]*backoffRecord
}

type backoffRecord struct {
	seen                 map[string]bool
	failuresAfterSuccess int
	lastFailure          time.Time
}

func newBackoffStore() *backoffStore { return &backoffStore{m: map[string]*backoffRecord{}} }

// record notes a finished pod once.
func (b *backoffStore) record(key, uid string, failed bool, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.m[key]
	if r == nil {
		r = &backoffRecord{seen: map[string]bool{}}
		b.m[key] = r
	}
	if r.seen[uid] {
		return
	}
	r.seen[uid] = true
	if !failed {
		r.failuresAfterSuccess = 0
		return
	}
	r.failuresAfterSuccess++
	r.lastFailure = at
}

// remaining is how long replacements of failed pods still wait.
func (b *backoffStore) remaining(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.m[key]
	if r == nil || r.failuresAfterSuccess == 0 {
		return 0
	}
	return backoffDelay(r.failuresAfterSuccess) - now.Sub(r.lastFailure)
}

func backoffDelay(failures int) time.Duration {
	d := podFailureBackoff
	for i := 1; i < failures && d < maxPodFailureBackoff; i++ {
		d *= 2
	}
	return min(d, maxPodFailureBackoff)
}

func (b *backoffStore) forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// writtenStore remembers the last status this controller wrote per job so
// that a sync never acts on a cached job older than its own write (the
// informer may deliver pod events before the job's).
type writtenStore struct {
	mu sync.Mutex // guards m
	m  map[string]written
}

type written struct {
	// replaced holds every version this controller's writes superseded.
	replaced map[string]bool
	job      *batchv1.Job
}

func newWrittenStore() *writtenStore { return &writtenStore{m: map[string]written{}} }

func (w *writtenStore) store(key, fromRV string, j *batchv1.Job) {
	w.mu.Lock()
	defer w.mu.Unlock()
	replaced := map[string]bool{fromRV: true}
	if prev, ok := w.m[key]; ok && prev.job.ResourceVersion == fromRV && prev.job.UID == j.UID {
		for rv := range prev.replaced {
			replaced[rv] = true
		}
	}
	w.m[key] = written{replaced: replaced, job: j}
}

// fresher returns the job this controller wrote if cached is the version
// it replaced.
func (w *writtenStore) fresher(key string, cached *batchv1.Job) *batchv1.Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	wr, ok := w.m[key]
	if !ok {
		return cached
	}
	if wr.replaced[cached.ResourceVersion] && cached.UID == wr.job.UID {
		return wr.job
	}
	if cached.ResourceVersion == wr.job.ResourceVersion {
		delete(w.m, key)
	}
	return cached
}

func (w *writtenStore) forget(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.m, key)
}
