package job_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

const timeout = 60 * time.Second

func newJob(name string, mut func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
		}}},
	}
	mut(j)
	return j
}

// pods lists the job's pods that are neither finished nor terminating.
func activePods(ctx context.Context, t *testing.T, c kubernetes.Interface, ns string, j *batchv1.Job) []corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + j.Name})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

func waitActive(ctx context.Context, t *testing.T, c kubernetes.Interface, ns string, j *batchv1.Job, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		pods = activePods(ctx, t, c, ns, j)
		if len(pods) > n {
			return false, fmt.Errorf("%d active pods, want at most %d", len(pods), n)
		}
		return len(pods) == n, nil
	})
	if err != nil {
		t.Fatalf("wait for %d active pods of %s: %v", n, j.Name, err)
	}
	return pods
}

func finish(ctx context.Context, t *testing.T, c kubernetes.Interface, p corev1.Pod, phase corev1.PodPhase) {
	t.Helper()
	p.Status.Phase = phase
	if _, err := c.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set pod %s %s: %v", p.Name, phase, err)
	}
}

// waitJob follows the job by watch from its current resourceVersion, so it
// sees every state the job passes through even when the TTL controller
// deletes it a moment after it finishes.
func waitJob(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string, what string, ok func(*batchv1.Job) bool) *batchv1.Job {
	t.Helper()
	got, err := c.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("wait for job %s %s: %v", name, what, err)
	}
	if ok(got) {
		return got
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := c.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
		ResourceVersion: got.ResourceVersion,
	})
	if err != nil {
		t.Fatalf("watch job %s: %v", name, err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		j, isJob := ev.Object.(*batchv1.Job)
		if !isJob {
			t.Fatalf("wait for job %s %s: unexpected %s event %+v", name, what, ev.Type, ev.Object)
		}
		got = j
		if ev.Type == watch.Deleted {
			break
		}
		if ok(j) {
			return j
		}
	}
	t.Fatalf("wait for job %s %s: not seen (last status %+v)", name, what, got.Status)
	return nil
}

func condition(j *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t && j.Status.Conditions[i].Status == corev1.ConditionTrue {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func TestJobController(t *testing.T) {
	c := controllertest.Start(t, manager.Config{Controllers: []string{"job", "ttl-after-finished"}}).Admin
	ctx := context.Background()
	ns := "default"

	t.Run("completions 3 parallelism 2 completes and its TTL deletes it", func(t *testing.T) {
		j, err := c.BatchV1().Jobs(ns).Create(ctx, newJob("three", func(j *batchv1.Job) {
			j.Spec.Completions, j.Spec.Parallelism = ptr(int32(3)), ptr(int32(2))
			j.Spec.TTLSecondsAfterFinished = ptr(int32(1))
		}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods := waitActive(ctx, t, c, ns, j, 2)
		for _, p := range pods {
			if !slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				t.Errorf("pod %s finalizers %v, want %s", p.Name, p.Finalizers, batchv1.JobTrackingFinalizer)
			}
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != j.UID || ref.Kind != "Job" {
				t.Errorf("pod %s controller %+v, want job %s", p.Name, ref, j.UID)
			}
			if p.GenerateName != "three-" {
				t.Errorf("pod generateName %q, want three-", p.GenerateName)
			}
		}
		waitJob(ctx, t, c, ns, "three", "active 2", func(j *batchv1.Job) bool { return j.Status.Active == 2 && j.Status.StartTime != nil })
		finish(ctx, t, c, pods[0], corev1.PodSucceeded)
		finish(ctx, t, c, pods[1], corev1.PodSucceeded)
		waitJob(ctx, t, c, ns, "three", "succeeded 2", func(j *batchv1.Job) bool { return j.Status.Succeeded == 2 })
		last := waitActive(ctx, t, c, ns, j, 1)
		finish(ctx, t, c, last[0], corev1.PodSucceeded)
		done := waitJob(ctx, t, c, ns, "three", "Complete", func(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil })
		if done.Status.Succeeded != 3 || done.Status.Failed != 0 || done.Status.Active != 0 || done.Status.CompletionTime == nil {
			t.Errorf("status %+v, want 3 succeeded, 0 failed, 0 active, completionTime", done.Status)
		}
		if sc := condition(done, batchv1.JobSuccessCriteriaMet); sc == nil || sc.Reason != batchv1.JobReasonCompletionsReached {
			t.Errorf("conditions %+v, want SuccessCriteriaMet/CompletionsReached", done.Status.Conditions)
		}
		if u := done.Status.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
			t.Errorf("uncountedTerminatedPods %+v, want empty", u)
		}
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=three"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 3 {
			t.Errorf("%d pods, want 3", len(list.Items))
		}
		for _, p := range list.Items {
			if slices.Contains(p.Finalizers, batchv1.JobTrackingFinalizer) {
				t.Errorf("pod %s still has the tracking finalizer", p.Name)
			}
		}
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			_, err := c.BatchV1().Jobs(ns).Get(ctx, "three", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("finished job with ttlSecondsAfterFinished=1 was not deleted: %v", err)
		}
	})

	t.Run("backoffLimit exceeded fails the job", func(t *testing.T) {
		j, err := c.BatchV1().Jobs(ns).Create(ctx, newJob("flaky", func(j *batchv1.Job) {
			j.Spec.BackoffLimit = ptr(int32(1))
		}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		first := waitActive(ctx, t, c, ns, j, 1)
		finish(ctx, t, c, first[0], corev1.PodFailed)
		// The replacement comes after the 10s pod failure backoff.
		second := waitActive(ctx, t, c, ns, j, 1)
		if second[0].Name == first[0].Name {
			t.Fatalf("no replacement pod for failed %s", first[0].Name)
		}
		finish(ctx, t, c, second[0], corev1.PodFailed)
		failed := waitJob(ctx, t, c, ns, "flaky", "Failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil })
		cond := condition(failed, batchv1.JobFailed)
		if cond.Reason != batchv1.JobReasonBackoffLimitExceeded || cond.Message != "Job has reached the specified backoff limit" {
			t.Errorf("Failed condition %+v, want BackoffLimitExceeded", cond)
		}
		if condition(failed, batchv1.JobFailureTarget) == nil {
			t.Errorf("conditions %+v, want FailureTarget too", failed.Status.Conditions)
		}
		if failed.Status.Failed != 2 || failed.Status.Active != 0 {
			t.Errorf("status failed=%d active=%d, want 2 and 0", failed.Status.Failed, failed.Status.Active)
		}
		if got := activePods(ctx, t, c, ns, j); len(got) != 0 {
			t.Errorf("%d pods still active after failure", len(got))
		}
	})

	t.Run("activeDeadlineSeconds deletes running pods and fails the job", func(t *testing.T) {
		j, err := c.BatchV1().Jobs(ns).Create(ctx, newJob("slow", func(j *batchv1.Job) {
			j.Spec.ActiveDeadlineSeconds = ptr(int64(2))
			j.Spec.Parallelism, j.Spec.Completions = ptr(int32(2)), ptr(int32(4))
		}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitActive(ctx, t, c, ns, j, 2)
		failed := waitJob(ctx, t, c, ns, "slow", "Failed", func(j *batchv1.Job) bool { return condition(j, batchv1.JobFailed) != nil })
		if cond := condition(failed, batchv1.JobFailed); cond.Reason != batchv1.JobReasonDeadlineExceeded {
			t.Errorf("Failed condition %+v, want DeadlineExceeded", cond)
		}
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=slow"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 0 {
			t.Errorf("%d pods left, want the unstarted pods deleted", len(list.Items))
		}
	})

	t.Run("indexed job gives each pod its index and hostname", func(t *testing.T) {
		mode := batchv1.IndexedCompletion
		j, err := c.BatchV1().Jobs(ns).Create(ctx, newJob("idx", func(j *batchv1.Job) {
			j.Spec.Completions, j.Spec.Parallelism = ptr(int32(3)), ptr(int32(3))
			j.Spec.CompletionMode = &mode
		}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods := waitActive(ctx, t, c, ns, j, 3)
		seen := map[string]bool{}
		for _, p := range pods {
			ix := p.Annotations[batchv1.JobCompletionIndexAnnotation]
			seen[ix] = true
			if p.Spec.Hostname != "idx-"+ix || p.Labels[batchv1.JobCompletionIndexAnnotation] != ix {
				t.Errorf("pod %s index %q hostname %q labels %v", p.Name, ix, p.Spec.Hostname, p.Labels)
			}
		}
		if len(seen) != 3 || !seen["0"] || !seen["1"] || !seen["2"] {
			t.Fatalf("indexes %v, want 0,1,2", seen)
		}
		for _, p := range pods {
			if p.Annotations[batchv1.JobCompletionIndexAnnotation] != "1" {
				finish(ctx, t, c, p, corev1.PodSucceeded)
			}
		}
		waitJob(ctx, t, c, ns, "idx", "indexes 0,2", func(j *batchv1.Job) bool { return j.Status.CompletedIndexes == "0,2" && j.Status.Succeeded == 2 })
		for _, p := range pods {
			if p.Annotations[batchv1.JobCompletionIndexAnnotation] == "1" {
				finish(ctx, t, c, p, corev1.PodSucceeded)
			}
		}
		done := waitJob(ctx, t, c, ns, "idx", "Complete", func(j *batchv1.Job) bool { return condition(j, batchv1.JobComplete) != nil })
		if done.Status.CompletedIndexes != "0-2" {
			t.Errorf("completedIndexes %q, want 0-2", done.Status.CompletedIndexes)
		}
	})
}

func ptr[T any](v T) *T { return &v }
