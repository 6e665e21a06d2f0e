package cronjob

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/registry/apis"
)

// maxMissed is how many missed start times upstream tolerates before it
// only warns (TooManyMissedTimes).
const maxMissed = 100

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.cronJobs.CronJobs(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get cronjob %s: %w", key, err)
	}
	if shared.DeletionTimestamp != nil {
		return nil
	}
	cj := shared.DeepCopy()
	all, err := c.jobs.Jobs(ns).List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	var owned []*batchv1.Job
	for _, j := range all {
		if ref := metav1.GetControllerOfNoCopy(j); ref != nil && ref.UID == cj.UID {
			owned = append(owned, j)
		}
	}
	c.trackActive(cj, owned)
	now := c.clock.Now()
	if err := c.schedule(ctx, cj, owned, now); err != nil {
		return err
	}
	if !equality.Semantic.DeepEqual(shared.Status, cj.Status) {
		if _, err := c.client.BatchV1().CronJobs(ns).UpdateStatus(ctx, cj, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of cronjob %s: %w", key, err)
		}
	}
	return c.cleanupHistory(ctx, cj, owned)
}

// trackActive keeps status.active to the unfinished owned jobs and records
// the last success.
func (c *Controller) trackActive(cj *batchv1.CronJob, owned []*batchv1.Job) {
	byUID := map[string]*batchv1.Job{}
	for _, j := range owned {
		byUID[string(j.UID)] = j
	}
	var active []corev1.ObjectReference
	for _, ref := range cj.Status.Active {
		j := byUID[string(ref.UID)]
		if j == nil {
			continue
		}
		if cond := finishedCondition(j); cond != "" {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
			if cond == batchv1.JobComplete && j.Status.CompletionTime != nil &&
				(cj.Status.LastSuccessfulTime == nil || cj.Status.LastSuccessfulTime.Before(j.Status.CompletionTime)) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime
			}
			continue
		}
		active = append(active, ref)
	}
	known := map[string]bool{}
	for _, ref := range active {
		known[string(ref.UID)] = true
	}
	for _, j := range owned {
		if !known[string(j.UID)] && finishedCondition(j) == "" && j.DeletionTimestamp == nil {
			active = append(active, jobRef(j))
		}
	}
	cj.Status.Active = active
}

// schedule starts the job of the most recent missed start time, if any
// and not too late, and requeues for the next one.
func (c *Controller) schedule(ctx context.Context, cj *batchv1.CronJob, owned []*batchv1.Job, now time.Time) error {
	spec := cj.Spec.Schedule
	if cj.Spec.TimeZone != nil && *cj.Spec.TimeZone != "" {
		spec = "TZ=" + *cj.Spec.TimeZone + " " + spec
	}
	sched, err := apis.ParseCronSchedule(spec)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return nil
	}
	key := cj.Namespace + "/" + cj.Name
	c.queue.AddAfter(key, sched.Next(now).Sub(now)+100*time.Millisecond)
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return nil
	}
	scheduled, missed := mostRecent(sched, cj, now)
	if scheduled.IsZero() {
		return nil
	}
	if missed > maxMissed {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes", "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && now.Sub(scheduled) > time.Duration(*d)*time.Second {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return nil
	}
	name := fmt.Sprintf("%s-%d", cj.Name, scheduled.Unix()/60)
	for _, j := range owned {
		if j.Name == name {
			return nil // already started
		}
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return nil
		}
	case batchv1.ReplaceConcurrent:
		for _, ref := range cj.Status.Active {
			if err := c.deleteJob(ctx, cj, ref.Name); err != nil {
				return err
			}
		}
		cj.Status.Active = nil
	}
	j := newJob(cj, name, scheduled)
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, j, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return fmt.Errorf("create job %s/%s: %w", cj.Namespace, name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
	cj.Status.Active = append(cj.Status.Active, jobRef(created))
	cj.Status.LastScheduleTime = &metav1.Time{Time: scheduled}
	return nil
}

// mostRecent is the latest start time at or before now since the last
// schedule (or creation), and how many start times were missed.
func mostRecent(sched *apis.CronSchedule, cj *batchv1.CronJob, now time.Time) (time.Time, int) {
	from := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		from = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if earliest := now.Add(-time.Duration(*d) * time.Second); earliest.After(from) {
			from = earliest
		}
	}
	var last time.Time
	missed := 0
	for t := sched.Next(from); !t.After(now); t = sched.Next(t) {
		last = t
		missed++
		if missed > maxMissed*10 {
			break
		}
	}
	return last, missed
}

func newJob(cj *batchv1.CronJob, name string, scheduled time.Time) *batchv1.Job {
	t := cj.Spec.JobTemplate.DeepCopy()
	ann := map[string]string{batchv1.CronJobScheduledTimestampAnnotation: scheduled.Format(time.RFC3339)}
	for k, v := range t.Annotations {
		ann[k] = v
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: cj.Namespace, Labels: t.Labels, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
		Spec: t.Spec,
	}
}

func (c *Controller) deleteJob(ctx context.Context, cj *batchv1.CronJob, name string) error {
	policy := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(cj.Namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return fmt.Errorf("delete job %s/%s: %w", cj.Namespace, name, err)
	}
	c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	return nil
}

// cleanupHistory deletes the oldest finished jobs beyond
// successfulJobsHistoryLimit (default 3) and failedJobsHistoryLimit
// (default 1).
func (c *Controller) cleanupHistory(ctx context.Context, cj *batchv1.CronJob, owned []*batchv1.Job) error {
	var succeeded, failed []*batchv1.Job
	for _, j := range owned {
		if j.DeletionTimestamp != nil {
			continue
		}
		switch finishedCondition(j) {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	limit := func(p *int32, def int) int {
		if p == nil {
			return def
		}
		return int(*p)
	}
	for _, group := range []struct {
		jobs  []*batchv1.Job
		limit int
	}{{succeeded, limit(cj.Spec.SuccessfulJobsHistoryLimit, 3)}, {failed, limit(cj.Spec.FailedJobsHistoryLimit, 1)}} {
		if len(group.jobs) <= group.limit {
			continue
		}
		sort.Slice(group.jobs, func(i, k int) bool {
			return startTime(group.jobs[i]).Before(startTime(group.jobs[k]))
		})
		for _, j := range group.jobs[:len(group.jobs)-group.limit] {
			if err := c.deleteJob(ctx, cj, j.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func startTime(j *batchv1.Job) time.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime.Time
	}
	return j.CreationTimestamp.Time
}

func finishedCondition(j *batchv1.Job) batchv1.JobConditionType {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return c.Type
		}
	}
	return ""
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind: "Job", APIVersion: batchv1.SchemeGroupVersion.String(), Namespace: j.Namespace, Name: j.Name,
		UID: j.UID, ResourceVersion: j.ResourceVersion,
	}
}
