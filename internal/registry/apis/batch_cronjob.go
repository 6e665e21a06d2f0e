package apis

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	regcore "kplane/internal/registry/core"
	"kplane/internal/registry/strategy"
)

// cronJobMaxNameLength leaves room for the 11-character suffix the CronJob
// controller appends to job names (63 - 11).
const cronJobMaxNameLength = 52

// validTimeZoneCharacters guards each path element of a time zone name
// before it reaches time.LoadLocation, as upstream does.
var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

func cronJobStrategy() strategy.Funcs {
	return hooks[*batchv1.CronJob]{
		defaults:         defaultCronJob,
		prepareForCreate: func(c *batchv1.CronJob) { c.Status = batchv1.CronJobStatus{} },
		prepareForUpdate: func(c, old *batchv1.CronJob) { c.Status = old.Status },
		validate: func(c *batchv1.CronJob) field.ErrorList {
			errs := validateObjectMeta(&c.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			if len(c.Name) > cronJobMaxNameLength {
				errs = append(errs, field.Invalid(metadataPath.Child("name"), c.Name, fmt.Sprintf("must be no more than %d characters", cronJobMaxNameLength)))
			}
			return append(errs, validateCronJobSpec(&c.Spec, nil, field.NewPath("spec"))...)
		},
		validateUpdate: func(c, old *batchv1.CronJob) field.ErrorList {
			errs := validateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, metadataPath)
			return append(errs, validateCronJobSpec(&c.Spec, &old.Spec, field.NewPath("spec"))...)
		},
		validateStatusUpdate: func(c, old *batchv1.CronJob) field.ErrorList {
			return validateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, metadataPath)
		},
	}.funcs()
}

// defaultCronJob mirrors SetDefaults_CronJob; the job template's JobSpec
// gets no Job defaults upstream, only its pod template does.
func defaultCronJob(c *batchv1.CronJob) {
	if c.Spec.ConcurrencyPolicy == "" {
		c.Spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if c.Spec.Suspend == nil {
		c.Spec.Suspend = ptrTo(false)
	}
	if c.Spec.SuccessfulJobsHistoryLimit == nil {
		c.Spec.SuccessfulJobsHistoryLimit = ptrTo(int32(3))
	}
	if c.Spec.FailedJobsHistoryLimit == nil {
		c.Spec.FailedJobsHistoryLimit = ptrTo(int32(1))
	}
	regcore.DefaultPodTemplateSpec(&c.Spec.JobTemplate.Spec.Template)
}

// validateCronJobSpec validates a spec; old is nil on create. A TZ= prefix
// in the schedule is only tolerated on objects that already had one.
func validateCronJobSpec(s, old *batchv1.CronJobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	sp := p.Child("schedule")
	if s.Schedule == "" {
		errs = append(errs, field.Required(sp, ""))
	} else {
		allowTZ := old != nil && strings.Contains(old.Schedule, "TZ")
		if _, err := ParseCronSchedule(s.Schedule); err != nil {
			errs = append(errs, field.Invalid(sp, s.Schedule, err.Error()))
		}
		switch {
		case allowTZ && strings.Contains(s.Schedule, "TZ") && s.TimeZone != nil:
			errs = append(errs, field.Invalid(sp, s.Schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"))
		case !allowTZ && strings.Contains(s.Schedule, "TZ"):
			errs = append(errs, field.Invalid(sp, s.Schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
		}
	}
	if s.StartingDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*s.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	switch s.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		errs = append(errs, field.Required(p.Child("concurrencyPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("concurrencyPolicy"), s.ConcurrencyPolicy, []string{string(batchv1.AllowConcurrent), string(batchv1.ForbidConcurrent), string(batchv1.ReplaceConcurrent)}))
	}
	errs = append(errs, validateTimeZone(s.TimeZone, p.Child("timeZone"))...)
	jp := p.Child("jobTemplate")
	jt := &s.JobTemplate
	errs = append(errs, metav1validation.ValidateLabels(jt.Labels, jp.Child("metadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(jt.Annotations, jp.Child("metadata", "annotations"))...)
	errs = append(errs, validateJobSpec(&jt.Spec, jp.Child("spec"))...)
	if jt.Spec.Selector != nil {
		errs = append(errs, field.Invalid(jp.Child("spec", "selector"), jt.Spec.Selector, "`selector` will be auto-generated"))
	}
	if jt.Spec.ManualSelector != nil && *jt.Spec.ManualSelector {
		errs = append(errs, field.NotSupported(jp.Child("spec", "manualSelector"), jt.Spec.ManualSelector, []string{"nil", "false"}))
	}
	if s.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.SuccessfulJobsHistoryLimit), p.Child("successfulJobsHistoryLimit"))...)
	}
	if s.FailedJobsHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.FailedJobsHistoryLimit), p.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// validateTimeZone accepts nil or an explicit IANA zone name.
func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(p, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		errs = append(errs, field.Invalid(p, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, tz, err.Error()))
	}
	return errs
}
