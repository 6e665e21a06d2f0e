package apis

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	regcore "kplane/internal/registry/core"
	"kplane/internal/registry/strategy"
)

func deploymentStrategy() strategy.Funcs {
	return hooks[*appsv1.Deployment]{
		defaults: defaultDeployment,
		prepareForCreate: func(d *appsv1.Deployment) {
			d.Status = appsv1.DeploymentStatus{}
		},
		prepareForUpdate: func(d, old *appsv1.Deployment) {
			d.Status = old.Status
			// Upstream bumps the generation on annotation changes too: the
			// deployment controller acts on its rollback/revision annotations.
			if !semanticEqual(d.Annotations, old.Annotations) {
				d.Generation = old.Generation + 1
			}
		},
		validate: func(d *appsv1.Deployment) field.ErrorList {
			errs := validateObjectMeta(&d.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validateDeploymentSpec(&d.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(d, old *appsv1.Deployment) field.ErrorList {
			errs := validateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, metadataPath)
			errs = append(errs, validateDeploymentSpec(&d.Spec, field.NewPath("spec"))...)
			return append(errs, immutable(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
		},
		validateStatusUpdate: func(d, old *appsv1.Deployment) field.ErrorList {
			errs := validateObjectMetaUpdate(&d.ObjectMeta, &old.ObjectMeta, metadataPath)
			p := field.NewPath("status")
			errs = append(errs, validateDeploymentStatus(&d.Status, p)...)
			if isDecremented(d.Status.CollisionCount, old.Status.CollisionCount) {
				errs = append(errs, field.Invalid(p.Child("collisionCount"), derefInt32(d.Status.CollisionCount), "cannot be decremented"))
			}
			return errs
		},
	}.funcs()
}

// defaultDeployment mirrors SetDefaults_Deployment of apps/v1.
func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo(int32(1))
	}
	s := &d.Spec.Strategy
	if s.Type == "" {
		s.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if s.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			s.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if s.RollingUpdate.MaxSurge == nil {
			s.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo(int32(600))
	}
	regcore.DefaultPodTemplateSpec(&d.Spec.Template)
}

func derefInt32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// validateWorkloadSelector checks the selector every replicated workload
// must have; kind names the workload in the empty-selector message.
func validateWorkloadSelector(sel *metav1.LabelSelector, p *field.Path, kind string) field.ErrorList {
	if sel == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateSelector(sel, p)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(p, sel, "empty selector is invalid for "+kind))
	}
	return errs
}

// validateTemplateForReplicaSet checks a template that a ReplicaSet-like
// controller stamps pods from: it must match the selector, be a valid pod
// template and restart its containers always.
func validateTemplateForReplicaSet(t *corev1.PodTemplateSpec, selector labels.Selector, p *field.Path, kind string) field.ErrorList {
	var errs field.ErrorList
	if !selector.Empty() && !selector.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(p.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, regcore.ValidatePodTemplateSpec(t, p)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

func validateDeploymentSpec(s *appsv1.DeploymentSpec, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(derefInt32(s.Replicas)), p.Child("replicas"))
	errs = append(errs, validateWorkloadSelector(s.Selector, p.Child("selector"), "deployment")...)
	// A nil selector converts to "nothing", so the template check still
	// runs and reports the mismatch, as upstream does.
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), s.Selector, "invalid label selector"))
	} else {
		errs = append(errs, validateTemplateForReplicaSet(&s.Template, sel, p.Child("template"), "ReplicaSet")...)
	}
	errs = append(errs, validateDeploymentStrategy(&s.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	if s.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	}
	if s.ProgressDeadlineSeconds != nil {
		errs = append(errs, nonNegative(int64(*s.ProgressDeadlineSeconds), p.Child("progressDeadlineSeconds"))...)
		if *s.ProgressDeadlineSeconds <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), s.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			errs = append(errs, field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil"))
			break
		}
		ru := s.RollingUpdate
		var maxUnavailable, maxSurge intstr.IntOrString
		if ru.MaxUnavailable != nil {
			maxUnavailable = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			maxSurge = *ru.MaxSurge
		}
		rp := p.Child("rollingUpdate")
		errs = append(errs, validatePositiveIntOrPercent(maxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(maxSurge, rp.Child("maxSurge"))...)
		if intOrPercentValue(maxUnavailable) == 0 && intOrPercentValue(maxSurge) == 0 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		errs = append(errs, notMoreThan100Percent(maxUnavailable, rp.Child("maxUnavailable"))...)
	default:
		errs = append(errs, field.NotSupported(p, s, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	return errs
}

func validateDeploymentStatus(s *appsv1.DeploymentStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))
	errs = append(errs, nonNegative(int64(s.Replicas), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UnavailableReplicas), p.Child("unavailableReplicas"))...)
	if s.TerminatingReplicas != nil {
		errs = append(errs, nonNegative(int64(*s.TerminatingReplicas), p.Child("terminatingReplicas"))...)
	}
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.UpdatedReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, msg))
	}
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}

func replicaSetStrategy() strategy.Funcs {
	return hooks[*appsv1.ReplicaSet]{
		defaults: func(rs *appsv1.ReplicaSet) {
			if rs.Spec.Replicas == nil {
				rs.Spec.Replicas = ptrTo(int32(1))
			}
			regcore.DefaultPodTemplateSpec(&rs.Spec.Template)
		},
		prepareForCreate: func(rs *appsv1.ReplicaSet) { rs.Status = appsv1.ReplicaSetStatus{} },
		prepareForUpdate: func(rs, old *appsv1.ReplicaSet) { rs.Status = old.Status },
		validate: func(rs *appsv1.ReplicaSet) field.ErrorList {
			errs := validateObjectMeta(&rs.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validateReplicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(rs, old *appsv1.ReplicaSet) field.ErrorList {
			errs := validateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta, metadataPath)
			errs = append(errs, validateReplicaSetSpec(&rs.Spec, field.NewPath("spec"))...)
			return append(errs, immutable(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
		},
		validateStatusUpdate: func(rs, old *appsv1.ReplicaSet) field.ErrorList {
			errs := validateObjectMetaUpdate(&rs.ObjectMeta, &old.ObjectMeta, metadataPath)
			return append(errs, validateReplicaSetStatus(&rs.Status, field.NewPath("status"))...)
		},
		fields: func(rs *appsv1.ReplicaSet) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(rs.Status.Replicas))}
		},
	}.funcs()
}

func validateReplicaSetSpec(s *appsv1.ReplicaSetSpec, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(derefInt32(s.Replicas)), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	// Upstream reuses the deployment wording for ReplicaSets.
	errs = append(errs, validateWorkloadSelector(s.Selector, p.Child("selector"), "deployment")...)
	// A nil selector converts to "nothing", so the template check still
	// runs and reports the mismatch, as upstream does.
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), s.Selector, "invalid label selector"))
	} else {
		errs = append(errs, validateTemplateForReplicaSet(&s.Template, sel, p.Child("template"), "ReplicaSet")...)
	}
	return errs
}

func validateReplicaSetStatus(s *appsv1.ReplicaSetStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.FullyLabeledReplicas), p.Child("fullyLabeledReplicas"))...)
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.TerminatingReplicas != nil {
		errs = append(errs, nonNegative(int64(*s.TerminatingReplicas), p.Child("terminatingReplicas"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.FullyLabeledReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("fullyLabeledReplicas"), s.FullyLabeledReplicas, msg))
	}
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return errs
}
