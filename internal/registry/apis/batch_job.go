package apis

import (
	"fmt"
	"math"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"

	regcore "kplane/internal/registry/core"
	"kplane/internal/registry/strategy"
)

// The unprefixed labels upstream still stamps on job pods for old clients.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
	// maxParallelismForIndexedJob bounds parallelism of Indexed jobs.
	maxParallelismForIndexedJob = 100000
)

func jobStrategy() strategy.Funcs {
	return hooks[*batchv1.Job]{
		defaults: defaultJob,
		prepareForCreate: func(j *batchv1.Job) {
			j.Status = batchv1.JobStatus{}
			// spec.scheduling is behind an alpha gate that is off by default.
			j.Spec.Scheduling = nil
			if j.Spec.ManualSelector == nil || !*j.Spec.ManualSelector {
				generateJobSelector(j)
			}
		},
		prepareForUpdate: func(j, old *batchv1.Job) {
			j.Status = old.Status
			if old.Spec.Scheduling == nil {
				j.Spec.Scheduling = nil
			}
		},
		validate: func(j *batchv1.Job) field.ErrorList {
			errs := validateObjectMeta(&j.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			errs = append(errs, validateGeneratedSelector(j, true)...)
			return append(errs, validateJobSpecWithSelector(&j.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: validateJobUpdate,
		validateStatusUpdate: func(j, old *batchv1.Job) field.ErrorList {
			errs := validateObjectMetaUpdate(&j.ObjectMeta, &old.ObjectMeta, metadataPath)
			p := field.NewPath("status")
			s := &j.Status
			errs = append(errs, nonNegative(int64(s.Active), p.Child("active"))...)
			errs = append(errs, nonNegative(int64(s.Succeeded), p.Child("succeeded"))...)
			errs = append(errs, nonNegative(int64(s.Failed), p.Child("failed"))...)
			if s.Ready != nil {
				errs = append(errs, nonNegative(int64(*s.Ready), p.Child("ready"))...)
			}
			if s.Terminating != nil {
				errs = append(errs, nonNegative(int64(*s.Terminating), p.Child("terminating"))...)
			}
			return errs
		},
		fields: func(j *batchv1.Job) fields.Set {
			return fields.Set{"status.successful": strconv.Itoa(int(j.Status.Succeeded))}
		},
	}.funcs()
}

// defaultJob mirrors SetDefaults_Job of batch/v1.
func defaultJob(j *batchv1.Job) {
	s := &j.Spec
	// A non-parallel job may leave both unset; both then default to 1.
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptrTo(int32(1))
		s.Parallelism = ptrTo(int32(1))
	}
	if s.Parallelism == nil {
		s.Parallelism = ptrTo(int32(1))
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptrTo(int32(math.MaxInt32))
		} else {
			s.BackoffLimit = ptrTo(int32(6))
		}
	}
	if s.Template.Labels != nil && len(j.Labels) == 0 {
		j.Labels = s.Template.Labels
	}
	if s.CompletionMode == nil {
		s.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptrTo(false)
	}
	if s.PodFailurePolicy != nil {
		for i := range s.PodFailurePolicy.Rules {
			for k := range s.PodFailurePolicy.Rules[i].OnPodConditions {
				if s.PodFailurePolicy.Rules[i].OnPodConditions[k].Status == "" {
					s.PodFailurePolicy.Rules[i].OnPodConditions[k].Status = corev1.ConditionTrue
				}
			}
		}
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	if s.ManualSelector == nil {
		s.ManualSelector = ptrTo(false)
	}
	regcore.DefaultPodTemplateSpec(&s.Template)
}

// generateJobSelector stamps the labels that tie a job's pods to it and
// selects on the job's UID, so jobs never adopt each other's pods. Labels a
// user already set are left alone; validation rejects a mismatch.
func generateJobSelector(j *batchv1.Job) {
	if j.Spec.Template.Labels == nil {
		j.Spec.Template.Labels = map[string]string{}
	}
	set := func(k, v string) {
		if _, ok := j.Spec.Template.Labels[k]; !ok {
			j.Spec.Template.Labels[k] = v
		}
	}
	set(legacyJobNameLabel, j.Name)
	set(batchv1.JobNameLabel, j.Name)
	set(legacyControllerUIDLabel, string(j.UID))
	set(batchv1.ControllerUidLabel, string(j.UID))
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(j.UID)
	}
}

// validateGeneratedSelector checks that a job without a manual selector
// carries the generated labels and selector. batchLabels also requires the
// batch.kubernetes.io/ prefixed labels (false for jobs created before they
// existed).
func validateGeneratedSelector(j *batchv1.Job, batchLabels bool) field.ErrorList {
	if j.Spec.ManualSelector != nil && *j.Spec.ManualSelector {
		return nil
	}
	if j.Spec.Selector == nil {
		return nil // reported by the spec validation
	}
	var errs field.ErrorList
	if j.UID == "" {
		errs = append(errs, field.Required(metadataPath.Child("uid"), ""))
	}
	tp := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{
		legacyControllerUIDLabel: string(j.UID),
		legacyJobNameLabel:       j.Name,
	}
	errs = append(errs, hasLabel(&j.Spec.Template.ObjectMeta, tp, legacyControllerUIDLabel, string(j.UID))...)
	errs = append(errs, hasLabel(&j.Spec.Template.ObjectMeta, tp, legacyJobNameLabel, j.Name)...)
	if batchLabels {
		errs = append(errs, hasLabel(&j.Spec.Template.ObjectMeta, tp, batchv1.ControllerUidLabel, string(j.UID))...)
		errs = append(errs, hasLabel(&j.Spec.Template.ObjectMeta, tp, batchv1.JobNameLabel, j.Name)...)
		expected[batchv1.ControllerUidLabel] = string(j.UID)
		expected[batchv1.JobNameLabel] = j.Name
	}
	if sel, err := metav1.LabelSelectorAsSelector(j.Spec.Selector); err == nil && !sel.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// hasLabel mirrors upstream's ValidateHasLabel.
func hasLabel(meta *metav1.ObjectMeta, p *field.Path, key, want string) field.ErrorList {
	got, ok := meta.Labels[key]
	if !ok {
		return field.ErrorList{field.Required(p.Child("labels").Key(key), want)}
	}
	if got != want {
		return field.ErrorList{field.Invalid(p.Child("labels").Key(key), meta.Labels, "must be '"+want+"'")}
	}
	return nil
}

// validateJobSpecWithSelector is validateJobSpec plus the selector rules
// that do not apply to a CronJob's job template.
func validateJobSpecWithSelector(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	errs := validateJobSpec(s, p)
	if s.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, validateSelector(s.Selector, p.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

func validateJobSpec(s *batchv1.JobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Parallelism != nil {
		errs = append(errs, nonNegative(int64(*s.Parallelism), p.Child("parallelism"))...)
	}
	if s.Completions != nil {
		errs = append(errs, nonNegative(int64(*s.Completions), p.Child("completions"))...)
	}
	if s.ActiveDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*s.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	if s.BackoffLimit != nil {
		errs = append(errs, nonNegative(int64(*s.BackoffLimit), p.Child("backoffLimit"))...)
	}
	if s.TTLSecondsAfterFinished != nil {
		errs = append(errs, nonNegative(int64(*s.TTLSecondsAfterFinished), p.Child("ttlSecondsAfterFinished"))...)
	}
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	if s.BackoffLimitPerIndex != nil {
		errs = append(errs, nonNegative(int64(*s.BackoffLimitPerIndex), p.Child("backoffLimitPerIndex"))...)
		if !indexed {
			errs = append(errs, field.Invalid(p.Child("backoffLimitPerIndex"), *s.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
	}
	if s.MaxFailedIndexes != nil {
		errs = append(errs, nonNegative(int64(*s.MaxFailedIndexes), p.Child("maxFailedIndexes"))...)
		if s.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Required(p.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
		if s.Completions != nil && *s.MaxFailedIndexes > *s.Completions {
			errs = append(errs, field.Invalid(p.Child("maxFailedIndexes"), *s.MaxFailedIndexes, "must be less than or equal to completions"))
		}
	}
	if s.CompletionMode != nil {
		switch *s.CompletionMode {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if s.Completions == nil {
				errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
			if s.Parallelism != nil && *s.Parallelism > maxParallelismForIndexedJob {
				errs = append(errs, field.Invalid(p.Child("parallelism"), *s.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("completionMode"), *s.CompletionMode, []string{string(batchv1.NonIndexedCompletion), string(batchv1.IndexedCompletion)}))
		}
	}
	if s.SuccessPolicy != nil && !indexed {
		errs = append(errs, field.Invalid(p.Child("successPolicy"), *s.SuccessPolicy, fmt.Sprintf("requires %s completion mode", batchv1.IndexedCompletion)))
	}
	if s.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(s.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	}
	if s.PodReplacementPolicy != nil {
		switch *s.PodReplacementPolicy {
		case batchv1.TerminatingOrFailed:
			if s.PodFailurePolicy != nil {
				errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *s.PodReplacementPolicy, []string{string(batchv1.Failed)}))
			}
		case batchv1.Failed:
		default:
			errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *s.PodReplacementPolicy, []string{string(batchv1.TerminatingOrFailed), string(batchv1.Failed)}))
		}
	}
	errs = append(errs, regcore.ValidatePodTemplateSpec(&s.Template, p.Child("template"))...)
	rp := p.Child("template", "spec", "restartPolicy")
	switch rpol := s.Template.Spec.RestartPolicy; {
	case rpol == corev1.RestartPolicyAlways || rpol == "":
		// The pod defaulting turns an unset policy into Always, so both
		// cases get the same hint.
		errs = append(errs, field.Required(rp, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rpol != corev1.RestartPolicyOnFailure && rpol != corev1.RestartPolicyNever:
		errs = append(errs, field.NotSupported(rp, rpol, []string{string(corev1.RestartPolicyOnFailure), string(corev1.RestartPolicyNever)}))
	case s.PodFailurePolicy != nil && rpol != corev1.RestartPolicyNever:
		errs = append(errs, field.Invalid(rp, rpol, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return errs
}

// validatePodFailurePolicy checks the shape of the rules: a known action and
// exactly one of onExitCodes / onPodConditions per rule.
func validatePodFailurePolicy(pol *batchv1.PodFailurePolicy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	actions := []string{string(batchv1.PodFailurePolicyActionCount), string(batchv1.PodFailurePolicyActionFailIndex), string(batchv1.PodFailurePolicyActionFailJob), string(batchv1.PodFailurePolicyActionIgnore)}
	for i, r := range pol.Rules {
		rp := p.Child("rules").Index(i)
		switch r.Action {
		case batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore:
		default:
			errs = append(errs, field.NotSupported(rp.Child("action"), r.Action, actions))
		}
		switch {
		case r.OnExitCodes != nil && len(r.OnPodConditions) > 0:
			errs = append(errs, field.Invalid(rp, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		case r.OnExitCodes == nil && len(r.OnPodConditions) == 0:
			errs = append(errs, field.Invalid(rp, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
		if ec := r.OnExitCodes; ec != nil {
			ep := rp.Child("onExitCodes")
			switch ec.Operator {
			case batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn:
			default:
				errs = append(errs, field.NotSupported(ep.Child("operator"), ec.Operator, []string{string(batchv1.PodFailurePolicyOnExitCodesOpIn), string(batchv1.PodFailurePolicyOnExitCodesOpNotIn)}))
			}
			if len(ec.Values) == 0 {
				errs = append(errs, field.Invalid(ep.Child("values"), ec.Values, "at least one value is required"))
			}
		}
	}
	return errs
}

func validateJobUpdate(j, old *batchv1.Job) field.ErrorList {
	errs := validateObjectMetaUpdate(&j.ObjectMeta, &old.ObjectMeta, metadataPath)
	// Jobs created before the prefixed labels existed are not required to
	// carry them.
	_, batchLabels := old.Spec.Template.Labels[batchv1.ControllerUidLabel]
	errs = append(errs, validateGeneratedSelector(j, batchLabels)...)
	p := field.NewPath("spec")
	errs = append(errs, validateJobSpecWithSelector(&j.Spec, p)...)
	s, o := &j.Spec, &old.Spec
	errs = append(errs, immutable(s.Selector, o.Selector, p.Child("selector"))...)
	errs = append(errs, immutable(s.CompletionMode, o.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, immutable(s.PodFailurePolicy, o.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, immutable(s.BackoffLimitPerIndex, o.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, immutable(s.ManagedBy, o.ManagedBy, p.Child("managedBy"))...)
	// Indexed jobs are elastic: completions may change together with
	// parallelism so that the two stay equal.
	elastic := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion &&
		s.Completions != nil && s.Parallelism != nil && o.Completions != nil && o.Parallelism != nil &&
		*s.Completions == *s.Parallelism && *o.Completions == *o.Parallelism
	if !elastic {
		errs = append(errs, immutable(s.Completions, o.Completions, p.Child("completions"))...)
	}
	// A suspended job that never started may still have its scheduling
	// directives changed (e.g. by a queueing controller).
	tmpl := s.Template.DeepCopy()
	if o.Suspend != nil && *o.Suspend && old.Status.StartTime == nil {
		tmpl.Labels = o.Template.Labels
		tmpl.Annotations = o.Template.Annotations
		tmpl.Spec.NodeSelector = o.Template.Spec.NodeSelector
		tmpl.Spec.Tolerations = o.Template.Spec.Tolerations
		tmpl.Spec.Affinity = o.Template.Spec.Affinity
		tmpl.Spec.SchedulingGates = o.Template.Spec.SchedulingGates
	}
	if !semanticEqual(*tmpl, o.Template) {
		errs = append(errs, field.Invalid(p.Child("template"), s.Template, "field is immutable"))
	}
	return errs
}
