package job

import (
	"context"
	"fmt"
	"slices"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/controllers"
)

// Upstream's condition messages and event reasons.
const (
	msgBackoffLimitExceeded = "Job has reached the specified backoff limit"
	msgDeadlineExceeded     = "Job was active longer than specified deadline"
	msgCompletionsReached   = "Reached expected number of succeeded pods"
	reasonSuspended         = "JobSuspended"
	reasonResumed           = "JobResumed"
)

// syncState is what one sync learns about a job from its pods.
type syncState struct {
	key          string
	job          *batchv1.Job
	pods         []*corev1.Pod
	active       []*corev1.Pod
	ready        int32
	terminating  int32
	succeeded    int32
	failed       int32
	uncSucceeded map[string]bool
	uncFailed    map[string]bool
	// succeededIdx holds the completed indexes of an Indexed job.
	succeededIdx indexSet
	finished     *batchv1.JobCondition
	// created counts pods created this sync (not yet in the cache).
	created int32
}

func (c *Controller) syncJob(ctx context.Context, key string) error {
	start := c.clock.Now()
	defer func() { c.log.Debug("synced job", "key", key, "duration", c.clock.Since(start)) }()
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.jobs.Jobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		c.backoff.forget(key)
		c.written.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get job %s: %w", key, err)
	}
	shared = c.written.fresher(key, shared)
	if finished(shared) {
		return nil
	}
	job := shared.DeepCopy()
	now := c.clock.Now()
	st := c.observe(key, job)

	if job.Status.StartTime == nil && !suspended(job) {
		job.Status.StartTime = &metav1.Time{Time: now}
		if job.Spec.ActiveDeadlineSeconds != nil {
			c.queue.AddAfter(key, time.Duration(*job.Spec.ActiveDeadlineSeconds)*time.Second)
		}
	}
	c.setSuspendCondition(job, now)

	switch {
	case conditionTrue(job, batchv1.JobFailureTarget):
		st.finished = findCondition(job, batchv1.JobFailureTarget).DeepCopy()
	case conditionTrue(job, batchv1.JobSuccessCriteriaMet):
		st.finished = findCondition(job, batchv1.JobSuccessCriteriaMet).DeepCopy()
	case st.failed > *job.Spec.BackoffLimit:
		st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimitExceeded, now)
	case pastDeadline(job, now):
		st.finished = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadlineExceeded, now)
	}

	satisfied := c.exp.Satisfied(key, now)
	if st.finished != nil {
		if satisfied && len(st.active) > 0 {
			if err := c.deletePods(ctx, st, st.active); err != nil {
				return err
			}
		}
	} else {
		if satisfied {
			if err := c.manage(ctx, st, now); err != nil {
				return err
			}
		}
		if c.complete(st) {
			st.finished = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletionsReached, now)
		}
	}
	if st.finished != nil && !conditionTrue(job, st.finished.Type) {
		job.Status.Conditions = append(job.Status.Conditions, *st.finished)
	}
	return c.trackAndFlush(ctx, st, shared, now)
}

// observe sorts a job's pods into active, terminating and newly finished
// ones and derives the succeeded and failed counts.
func (c *Controller) observe(key string, job *batchv1.Job) *syncState {
	st := &syncState{key: key, job: job, uncSucceeded: map[string]bool{}, uncFailed: map[string]bool{}}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	for _, uid := range job.Status.UncountedTerminatedPods.Succeeded {
		st.uncSucceeded[string(uid)] = true
	}
	for _, uid := range job.Status.UncountedTerminatedPods.Failed {
		st.uncFailed[string(uid)] = true
	}
	objs, _ := c.pods.ByIndex(controllers.OwnerUIDIndex, string(job.UID))
	indexed := isIndexed(job)
	if indexed {
		st.succeededIdx = parseIndexes(job.Status.CompletedIndexes, completions(job))
	}
	var newSucceeded, newFailed int32
	for _, o := range objs {
		p := o.(*corev1.Pod)
		st.pods = append(st.pods, p)
		terminal := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		switch {
		case !terminal && p.DeletionTimestamp == nil:
			st.active = append(st.active, p)
			if podReady(p) {
				st.ready++
			}
		case !terminal:
			st.terminating++
		}
		uid := string(p.UID)
		if !hasFinalizer(p) || c.exp.removingFinalizer(key, uid) || st.uncSucceeded[uid] || st.uncFailed[uid] {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded:
			c.backoff.record(key, uid, false, c.clock.Now())
			if indexed {
				if ix, ok := podIndex(p, completions(job)); ok {
					st.succeededIdx.add(ix)
				}
			} else {
				newSucceeded++
			}
		case podFailed(job, p):
			c.backoff.record(key, uid, true, c.clock.Now())
			newFailed++
		}
	}
	if indexed {
		st.succeeded = int32(st.succeededIdx.len())
	} else {
		st.succeeded = job.Status.Succeeded + int32(len(st.uncSucceeded)) + newSucceeded
	}
	st.failed = job.Status.Failed + int32(len(st.uncFailed)) + newFailed
	return st
}

// complete reports whether the job met its completions with nothing
// left running.
func (c *Controller) complete(st *syncState) bool {
	if len(st.active) > 0 {
		return false
	}
	if st.job.Spec.Completions == nil {
		return st.succeeded > 0
	}
	return st.succeeded >= *st.job.Spec.Completions
}

// setSuspendCondition records suspension and resumption like upstream:
// resuming restarts the activeDeadlineSeconds clock.
func (c *Controller) setSuspendCondition(job *batchv1.Job, now time.Time) {
	was := conditionTrue(job, batchv1.JobSuspended)
	switch {
	case suspended(job) && !was:
		setCondition(job, newCondition(batchv1.JobSuspended, reasonSuspended, "Job suspended", now))
		c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
	case !suspended(job) && was:
		cond := newCondition(batchv1.JobSuspended, reasonResumed, "Job resumed", now)
		cond.Status = corev1.ConditionFalse
		setCondition(job, cond)
		job.Status.StartTime = &metav1.Time{Time: now}
		c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
	}
}

// trackAndFlush moves finished pods into status.uncountedTerminatedPods,
// removes their tracking finalizers, counts them, and writes the status
// with the terminal condition once nothing is left terminating.
func (c *Controller) trackAndFlush(ctx context.Context, st *syncState, shared *batchv1.Job, now time.Time) error {
	job := st.job
	withFinalizer := map[string]bool{}
	for _, p := range st.pods {
		if hasFinalizer(p) || c.exp.removingFinalizer(st.key, string(p.UID)) {
			withFinalizer[string(p.UID)] = true
		}
	}
	cleanUncounted(&job.Status, withFinalizer)
	var remove []*corev1.Pod
	newUncounted := false
	unc := job.Status.UncountedTerminatedPods
	inUnc := func(uid string) bool {
		return slices.ContainsFunc(unc.Succeeded, func(u types.UID) bool { return string(u) == uid }) ||
			slices.ContainsFunc(unc.Failed, func(u types.UID) bool { return string(u) == uid })
	}
	for _, p := range st.pods {
		uid := string(p.UID)
		if !hasFinalizer(p) || c.exp.removingFinalizer(st.key, uid) {
			continue
		}
		failedPod := podFailed(job, p)
		if job.DeletionTimestamp == nil && st.finished == nil && p.Status.Phase != corev1.PodSucceeded && !failedPod {
			continue
		}
		remove = append(remove, p)
		if inUnc(uid) {
			continue
		}
		switch {
		case p.Status.Phase == corev1.PodSucceeded && isIndexed(job):
			// Indexed successes are recorded in completedIndexes.
		case p.Status.Phase == corev1.PodSucceeded:
			unc.Succeeded = append(unc.Succeeded, p.UID)
			newUncounted = true
		default:
			unc.Failed = append(unc.Failed, p.UID)
			newUncounted = true
		}
	}
	c.fillStatus(st)
	if newUncounted {
		updated, err := c.updateStatus(ctx, st.key, shared, job)
		if err != nil {
			return err
		}
		shared, job = updated, updated.DeepCopy()
		st.job = job
		if job.Status.UncountedTerminatedPods == nil {
			job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
		}
	}
	var rmErr error
	for _, p := range remove {
		c.exp.expectFinalizerRemoved(st.key, string(p.UID))
		if err := c.removeFinalizer(ctx, p); err != nil {
			c.exp.finalizerRemoved(st.key, string(p.UID))
			rmErr = err
			continue
		}
		delete(withFinalizer, string(p.UID))
	}
	cleanUncounted(&job.Status, withFinalizer)
	c.enactFinished(st, now)
	if !equality.Semantic.DeepEqual(shared.Status, job.Status) {
		if _, err := c.updateStatus(ctx, st.key, shared, job); err != nil {
			return err
		}
	}
	if rmErr != nil {
		return fmt.Errorf("remove tracking finalizers of job %s: %w", st.key, rmErr)
	}
	return nil
}

// fillStatus writes the pod counts of st into the job's status.
func (c *Controller) fillStatus(st *syncState) {
	s := &st.job.Status
	s.Active = int32(len(st.active)) + st.created
	s.Ready = &st.ready
	s.Terminating = &st.terminating
	if isIndexed(st.job) {
		s.CompletedIndexes = st.succeededIdx.String()
		s.Succeeded = int32(st.succeededIdx.len())
	}
}

// enactFinished turns SuccessCriteriaMet into Complete and FailureTarget
// into Failed once no pod is running or uncounted, as upstream v1.37.
func (c *Controller) enactFinished(st *syncState, now time.Time) {
	job := st.job
	if st.finished == nil || st.terminating > 0 || len(st.active) > 0 {
		return
	}
	if unc := job.Status.UncountedTerminatedPods; unc != nil && len(unc.Succeeded)+len(unc.Failed) > 0 {
		return
	}
	if st.finished.Type == batchv1.JobSuccessCriteriaMet {
		setCondition(job, newCondition(batchv1.JobComplete, st.finished.Reason, st.finished.Message, now))
		job.Status.CompletionTime = &metav1.Time{Time: now}
		c.recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
		return
	}
	setCondition(job, newCondition(batchv1.JobFailed, st.finished.Reason, st.finished.Message, now))
	c.recorder.Event(job, corev1.EventTypeWarning, st.finished.Reason, st.finished.Message)
}

// cleanUncounted counts uncounted pods whose finalizer is gone.
func cleanUncounted(s *batchv1.JobStatus, withFinalizer map[string]bool) {
	unc := s.UncountedTerminatedPods
	keep := func(uids []types.UID, counter *int32) []types.UID {
		out := uids[:0]
		for _, u := range uids {
			if withFinalizer[string(u)] {
				out = append(out, u)
			} else {
				*counter++
			}
		}
		return out
	}
	unc.Succeeded = keep(unc.Succeeded, &s.Succeeded)
	unc.Failed = keep(unc.Failed, &s.Failed)
}

func (c *Controller) updateStatus(ctx context.Context, key string, from, job *batchv1.Job) (*batchv1.Job, error) {
	updated, err := c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status of job %s: %w", key, err)
	}
	c.written.store(key, from.ResourceVersion, updated)
	return updated, nil
}
