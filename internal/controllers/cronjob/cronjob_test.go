package cronjob_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

func TestCronJobStartsMissedSchedule(t *testing.T) {
	c := controllertest.Start(t, manager.Config{Controllers: []string{"cronjob"}}).Admin
	ctx := context.Background()
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "tick"},
		Spec: batchv1.CronJobSpec{
			Schedule: "* * * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
			}}}},
		},
	}
	created, err := c.BatchV1().CronJobs("default").Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Pretend the last run was three minutes ago: the most recent missed
	// minute starts now, under its deterministic name.
	created.Status.LastScheduleTime = &metav1.Time{Time: time.Now().Add(-3 * time.Minute).Truncate(time.Minute)}
	if _, err := c.BatchV1().CronJobs("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var got *batchv1.CronJob
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err = c.BatchV1().CronJobs("default").Get(ctx, "tick", metav1.GetOptions{})
		return err == nil && len(got.Status.Active) == 1 && got.Status.LastScheduleTime != nil &&
			time.Since(got.Status.LastScheduleTime.Time) < 2*time.Minute, err
	})
	if err != nil {
		t.Fatalf("cronjob never started its missed run: %v", err)
	}
	want := fmt.Sprintf("tick-%d", got.Status.LastScheduleTime.Unix()/60)
	if got.Status.Active[0].Name != want {
		t.Errorf("active job %s, want %s", got.Status.Active[0].Name, want)
	}
	j, err := c.BatchV1().Jobs("default").Get(ctx, want, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("job %s: %v", want, err)
	}
	if ref := metav1.GetControllerOf(j); ref == nil || ref.UID != created.UID {
		t.Errorf("job owner %+v, want the cronjob", ref)
	}
	if j.Annotations[batchv1.CronJobScheduledTimestampAnnotation] == "" {
		t.Errorf("job annotations %v lack the scheduled timestamp", j.Annotations)
	}
	jobs, err := c.BatchV1().Jobs("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(jobs.Items); n != 1 {
		t.Errorf("%d jobs, want 1 (Forbid, and only the most recent missed time starts)", n)
	}
}
