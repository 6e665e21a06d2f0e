package apis

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const jobUID = "8d2f4b5e-0000-4000-8000-000000000001"

func job(mut ...func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: meta("pi"),
		Spec:       batchv1.JobSpec{Template: podTemplate(map[string]string{"app": "pi"}, corev1.RestartPolicyNever)},
	}
	for _, m := range mut {
		m(j)
	}
	return j
}

func TestJobDefaults(t *testing.T) {
	cases := []struct {
		name                      string
		completions, parallelism  *int32
		wantCompletions, wantPara *int32
	}{
		{name: "both unset", wantCompletions: ptrTo(int32(1)), wantPara: ptrTo(int32(1))},
		{name: "completions set", completions: ptrTo(int32(5)), wantCompletions: ptrTo(int32(5)), wantPara: ptrTo(int32(1))},
		{name: "parallelism set", parallelism: ptrTo(int32(3)), wantPara: ptrTo(int32(3))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := job(func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = tc.completions, tc.parallelism })
			funcsFor(t, "batch", "Job").Default(j)
			s := j.Spec
			if !semanticEqual(s.Completions, tc.wantCompletions) || !semanticEqual(s.Parallelism, tc.wantPara) {
				t.Fatalf("completions %v parallelism %v", s.Completions, s.Parallelism)
			}
			if *s.BackoffLimit != 6 || *s.CompletionMode != batchv1.NonIndexedCompletion || *s.Suspend ||
				*s.ManualSelector || *s.PodReplacementPolicy != batchv1.TerminatingOrFailed {
				t.Fatalf("defaults: %+v", s)
			}
			if j.Labels["app"] != "pi" {
				t.Fatalf("job labels not copied from template: %v", j.Labels)
			}
		})
	}
}

func TestJobGeneratedSelector(t *testing.T) {
	f := funcsFor(t, "batch", "Job")
	j := job()
	checkErrs(t, create(f, j))
	wantSel := &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: jobUID}}
	if !semanticEqual(j.Spec.Selector, wantSel) {
		t.Fatalf("selector = %v", j.Spec.Selector)
	}
	for k, v := range map[string]string{
		"controller-uid": jobUID, batchv1.ControllerUidLabel: jobUID,
		"job-name": "pi", batchv1.JobNameLabel: "pi", "app": "pi",
	} {
		if j.Spec.Template.Labels[k] != v {
			t.Errorf("template label %s = %q, want %q", k, j.Spec.Template.Labels[k], v)
		}
	}
	// As upstream, a job without labels shares its template's label map
	// from defaulting on, so it ends up with the generated labels too.
	if j.Labels[batchv1.ControllerUidLabel] != jobUID {
		t.Errorf("job labels = %v, want the template's", j.Labels)
	}
	own := job(func(j *batchv1.Job) { j.Labels = map[string]string{"team": "a"} })
	checkErrs(t, create(f, own))
	if len(own.Labels) != 1 {
		t.Errorf("job with own labels got %v", own.Labels)
	}
}

func TestJobValidate(t *testing.T) {
	f := funcsFor(t, "batch", "Job")
	cases := []struct {
		name string
		mut  func(*batchv1.Job)
		want []string
	}{
		{name: "valid"},
		{
			name: "restart policy unset",
			mut:  func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" },
			want: []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "restart policy always",
			mut:  func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "negative backoff",
			mut:  func(j *batchv1.Job) { j.Spec.BackoffLimit = ptrTo(int32(-1)) },
			want: []string{"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "indexed without completions",
			mut: func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
				j.Spec.Parallelism = ptrTo(int32(2))
			},
			want: []string{"spec.completions: Required value: when completion mode is Indexed"},
		},
		{
			name: "manual selector not matching",
			mut: func(j *batchv1.Job) {
				j.Spec.ManualSelector = ptrTo(true)
				j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
			},
			want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"pi\"}: `selector` does not match template `labels`"},
		},
		{
			name: "manual selector missing",
			mut:  func(j *batchv1.Job) { j.Spec.ManualSelector = ptrTo(true) },
			want: []string{"spec.selector: Required value"},
		},
		{
			name: "conflicting generated label",
			mut:  func(j *batchv1.Job) { j.Spec.Template.Labels = map[string]string{"job-name": "other"} },
			want: []string{`spec.template.metadata.labels[job-name]: Invalid value: {"batch.kubernetes.io/controller-uid":"` + jobUID + `","batch.kubernetes.io/job-name":"pi","controller-uid":"` + jobUID + `","job-name":"other"}: must be 'pi'`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := job()
			if tc.mut != nil {
				tc.mut(j)
			}
			checkErrs(t, create(f, j), tc.want...)
		})
	}
}

func TestJobUpdate(t *testing.T) {
	f := funcsFor(t, "batch", "Job")
	old := job()
	checkErrs(t, create(f, old))

	t.Run("template immutable", func(t *testing.T) {
		obj := old.DeepCopy()
		obj.Spec.Template.Spec.Containers[0].Image = "busybox:2"
		errs := update(f, obj, old)
		if len(errs) != 1 || errs[0].Field != "spec.template" || errs[0].Detail != "field is immutable" {
			t.Fatalf("errs = %v", errs)
		}
	})
	t.Run("parallelism mutable", func(t *testing.T) {
		obj := old.DeepCopy()
		obj.Spec.Parallelism = ptrTo(int32(4))
		checkErrs(t, update(f, obj, old))
	})
	t.Run("suspended job scheduling directives mutable", func(t *testing.T) {
		sus := job(func(j *batchv1.Job) { j.Spec.Suspend = ptrTo(true) })
		checkErrs(t, create(f, sus))
		obj := sus.DeepCopy()
		obj.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
		checkErrs(t, update(f, obj, sus))
	})
	t.Run("completions immutable", func(t *testing.T) {
		obj := old.DeepCopy()
		obj.Spec.Completions = ptrTo(int32(3))
		checkErrs(t, update(f, obj, old), "spec.completions: Invalid value: 3: field is immutable")
	})
	t.Run("status kept", func(t *testing.T) {
		withStatus := old.DeepCopy()
		withStatus.Status.Succeeded = 1
		obj := old.DeepCopy()
		obj.Status.Succeeded = 9
		f.PrepareForUpdate(obj, withStatus)
		if obj.Status.Succeeded != 1 {
			t.Fatalf("status.succeeded = %d", obj.Status.Succeeded)
		}
		if got := f.Fields(obj)["status.successful"]; got != "1" {
			t.Fatalf("status.successful = %q", got)
		}
	})
}

func cronJob(mut ...func(*batchv1.CronJob)) *batchv1.CronJob {
	c := &batchv1.CronJob{
		ObjectMeta: meta("nightly"),
		Spec: batchv1.CronJobSpec{
			Schedule: "0 3 * * *",
			JobTemplate: batchv1.JobTemplateSpec{
				Spec: batchv1.JobSpec{Template: podTemplate(nil, corev1.RestartPolicyOnFailure)},
			},
		},
	}
	for _, m := range mut {
		m(c)
	}
	return c
}

func TestCronJob(t *testing.T) {
	f := funcsFor(t, "batch", "CronJob")
	d := cronJob()
	f.Default(d)
	if d.Spec.ConcurrencyPolicy != batchv1.AllowConcurrent || *d.Spec.Suspend || *d.Spec.SuccessfulJobsHistoryLimit != 3 || *d.Spec.FailedJobsHistoryLimit != 1 {
		t.Fatalf("defaults: %+v", d.Spec)
	}
	if d.Spec.JobTemplate.Spec.BackoffLimit != nil {
		t.Fatalf("job defaults applied to job template: %+v", d.Spec.JobTemplate.Spec)
	}
	cases := []struct {
		name string
		mut  func(*batchv1.CronJob)
		want []string
	}{
		{name: "valid"},
		{name: "valid descriptor", mut: func(c *batchv1.CronJob) { c.Spec.Schedule = "@hourly" }},
		{name: "valid time zone", mut: func(c *batchv1.CronJob) { c.Spec.TimeZone = ptrTo("Europe/Berlin") }},
		{
			name: "bad schedule",
			mut:  func(c *batchv1.CronJob) { c.Spec.Schedule = "every minute" },
			want: []string{`spec.schedule: Invalid value: "every minute": expected exactly 5 fields, found 2: [every minute]`},
		},
		{
			name: "schedule out of range",
			mut:  func(c *batchv1.CronJob) { c.Spec.Schedule = "61 * * * *" },
			want: []string{`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`},
		},
		{
			name: "missing schedule",
			mut:  func(c *batchv1.CronJob) { c.Spec.Schedule = "" },
			want: []string{"spec.schedule: Required value"},
		},
		{
			name: "TZ in schedule",
			mut:  func(c *batchv1.CronJob) { c.Spec.Schedule = "TZ=UTC 0 3 * * *" },
			want: []string{`spec.schedule: Invalid value: "TZ=UTC 0 3 * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`},
		},
		{
			name: "unknown time zone",
			mut:  func(c *batchv1.CronJob) { c.Spec.TimeZone = ptrTo("Mars/Olympus") },
			want: []string{`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`},
		},
		{
			name: "local time zone",
			mut:  func(c *batchv1.CronJob) { c.Spec.TimeZone = ptrTo("Local") },
			want: []string{`spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones`},
		},
		{
			name: "name too long",
			mut:  func(c *batchv1.CronJob) { c.Name = "a23456789012345678901234567890123456789012345678901234" },
			want: []string{`metadata.name: Invalid value: "a23456789012345678901234567890123456789012345678901234": must be no more than 52 characters`},
		},
		{
			name: "selector on job template",
			mut: func(c *batchv1.CronJob) {
				c.Spec.JobTemplate.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
			},
			want: []string{"spec.jobTemplate.spec.selector: Invalid value: {\"matchLabels\":{\"a\":\"b\"}}: `selector` will be auto-generated"},
		},
		{
			name: "restart policy always",
			mut: func(c *batchv1.CronJob) {
				c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
			},
			want: []string{`spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "bad concurrency policy",
			mut:  func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = "Sometimes" },
			want: []string{`spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := cronJob()
			if tc.mut != nil {
				tc.mut(c)
			}
			checkErrs(t, create(f, c), tc.want...)
		})
	}
	t.Run("existing TZ schedule may stay on update", func(t *testing.T) {
		old := cronJob(func(c *batchv1.CronJob) { c.Spec.Schedule = "CRON_TZ=UTC 0 3 * * *" })
		f.Default(old)
		obj := old.DeepCopy()
		obj.Spec.Suspend = ptrTo(true)
		checkErrs(t, update(f, obj, old))
	})
}
