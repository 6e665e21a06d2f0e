package printers

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// batchFor returns printers for the batch group.
func batchFor(kind string) *Printer {
	switch kind {
	case "Job":
		return jobPrinter()
	case "CronJob":
		return cronJobPrinter()
	}
	return nil
}

func jobPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", "Status of the job."),
		col("Completions", "string", batchv1.JobStatus{}.SwaggerDoc()["succeeded"]),
		col("Duration", "string", "Time required to complete the job."),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
		wide(col("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"])),
	}
	return typed(cols, jobRow)
}

func jobRow(job *batchv1.Job, now time.Time) ([]interface{}, error) {
	var completions string
	switch parallelism := int32PtrValue(job.Spec.Parallelism); {
	case job.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", job.Status.Succeeded, *job.Spec.Completions)
	case parallelism > 1:
		completions = fmt.Sprintf("%d/1 of %d", job.Status.Succeeded, parallelism)
	default:
		completions = fmt.Sprintf("%d/1", job.Status.Succeeded)
	}

	var jobDuration string
	switch {
	case job.Status.StartTime == nil:
	case job.Status.CompletionTime == nil:
		jobDuration = duration.HumanDuration(now.Sub(job.Status.StartTime.Time))
	default:
		jobDuration = duration.HumanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time))
	}

	var status string
	switch {
	case jobCondition(job, batchv1.JobComplete):
		status = "Complete"
	case jobCondition(job, batchv1.JobFailed):
		status = "Failed"
	case job.DeletionTimestamp != nil:
		status = "Terminating"
	case jobCondition(job, batchv1.JobSuspended):
		status = "Suspended"
	case jobCondition(job, batchv1.JobFailureTarget):
		status = "FailureTarget"
	default:
		status = "Running"
	}

	names, images := containerCells(job.Spec.Template.Spec.Containers)
	return []interface{}{
		job.Name, status, completions, jobDuration, age(job.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(job.Spec.Selector),
	}, nil
}

// jobCondition reports whether the first condition of type t is True.
func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func cronJobPrinter() *Printer {
	spec := batchv1beta1.CronJobSpec{}.SwaggerDoc()
	status := batchv1beta1.CronJobStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Schedule", "string", spec["schedule"]),
		col("Timezone", "string", spec["timeZone"]),
		col("Suspend", "boolean", spec["suspend"]),
		col("Active", "integer", status["active"]),
		col("Last Schedule", "string", status["lastScheduleTime"]),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
		wide(col("Selector", "string", batchv1.JobSpec{}.SwaggerDoc()["selector"])),
	}
	return typed(cols, func(cj *batchv1.CronJob, now time.Time) ([]interface{}, error) {
		lastSchedule := none
		if cj.Status.LastScheduleTime != nil {
			lastSchedule = age(*cj.Status.LastScheduleTime, now)
		}
		timeZone := none
		if cj.Spec.TimeZone != nil {
			timeZone = *cj.Spec.TimeZone
		}
		tmpl := cj.Spec.JobTemplate.Spec
		names, images := containerCells(tmpl.Template.Spec.Containers)
		return []interface{}{
			cj.Name, cj.Spec.Schedule, timeZone, boolPtrString(cj.Spec.Suspend),
			int64(len(cj.Status.Active)), lastSchedule, age(cj.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(tmpl.Selector),
		}, nil
	})
}
