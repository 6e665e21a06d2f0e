package apis

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	regcore "kplane/internal/registry/core"
	"kplane/internal/registry/strategy"
)

func statefulSetStrategy() strategy.Funcs {
	return hooks[*appsv1.StatefulSet]{
		defaults:         defaultStatefulSet,
		prepareForCreate: func(s *appsv1.StatefulSet) { s.Status = appsv1.StatefulSetStatus{} },
		prepareForUpdate: func(s, old *appsv1.StatefulSet) { s.Status = old.Status },
		validate: func(s *appsv1.StatefulSet) field.ErrorList {
			errs := validateObjectMeta(&s.ObjectMeta, true, apivalidation.NameIsDNSLabel, metadataPath)
			return append(errs, validateStatefulSetSpec(&s.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(s, old *appsv1.StatefulSet) field.ErrorList {
			// The name is not revalidated on update: older releases accepted
			// DNS subdomains and such objects must stay deletable.
			errs := validateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta, metadataPath)
			errs = append(errs, validateStatefulSetSpec(&s.Spec, field.NewPath("spec"))...)
			clone := s.Spec.DeepCopy()
			clone.Replicas = old.Spec.Replicas
			clone.Template = old.Spec.Template
			clone.UpdateStrategy = old.Spec.UpdateStrategy
			clone.MinReadySeconds = old.Spec.MinReadySeconds
			clone.Ordinals = old.Spec.Ordinals
			clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
			if !semanticEqual(*clone, old.Spec) {
				errs = append(errs, field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
			}
			return errs
		},
		validateStatusUpdate: func(s, old *appsv1.StatefulSet) field.ErrorList {
			errs := validateStatefulSetStatus(&s.Status, field.NewPath("status"))
			errs = append(errs, validateObjectMetaUpdate(&s.ObjectMeta, &old.ObjectMeta, metadataPath)...)
			if isDecremented(s.Status.CollisionCount, old.Status.CollisionCount) {
				errs = append(errs, field.Invalid(field.NewPath("status", "collisionCount"), derefInt32(s.Status.CollisionCount), "cannot be decremented"))
			}
			return errs
		},
	}.funcs()
}

// defaultStatefulSet mirrors SetDefaults_StatefulSet of apps/v1 with the
// v1.37 default feature gates.
func defaultStatefulSet(s *appsv1.StatefulSet) {
	if s.Spec.PodManagementPolicy == "" {
		s.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if s.Spec.UpdateStrategy.Type == "" {
		s.Spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if s.Spec.UpdateStrategy.RollingUpdate == nil {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if s.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && s.Spec.UpdateStrategy.RollingUpdate != nil {
		if s.Spec.UpdateStrategy.RollingUpdate.Partition == nil {
			s.Spec.UpdateStrategy.RollingUpdate.Partition = ptrTo(int32(0))
		}
	}
	if s.Spec.PersistentVolumeClaimRetentionPolicy == nil {
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted == "" {
		s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled == "" {
		s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if s.Spec.Replicas == nil {
		s.Spec.Replicas = ptrTo(int32(1))
	}
	if s.Spec.RevisionHistoryLimit == nil {
		s.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	regcore.DefaultPodTemplateSpec(&s.Spec.Template)
	for i := range s.Spec.VolumeClaimTemplates {
		// SetDefaults_PersistentVolumeClaimSpec.
		if s.Spec.VolumeClaimTemplates[i].Spec.VolumeMode == nil {
			s.Spec.VolumeClaimTemplates[i].Spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
		}
	}
}

func validateStatefulSetSpec(s *appsv1.StatefulSetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(p.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(p.Child("podManagementPolicy"), s.PodManagementPolicy, fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	up := p.Child("updateStrategy")
	switch s.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(up, ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if s.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(up.Child("rollingUpdate"), s.UpdateStrategy.RollingUpdate, fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := s.UpdateStrategy.RollingUpdate; ru != nil {
			rp := up.Child("rollingUpdate")
			errs = append(errs, nonNegative(int64(derefInt32(ru.Partition)), rp.Child("partition"))...)
			if ru.MaxUnavailable != nil {
				mp := rp.Child("maxUnavailable")
				errs = append(errs, validatePositiveIntOrPercent(*ru.MaxUnavailable, mp)...)
				if intOrPercentValue(*ru.MaxUnavailable) == 0 {
					errs = append(errs, field.Invalid(mp, *ru.MaxUnavailable, "cannot be 0"))
				}
				errs = append(errs, notMoreThan100Percent(*ru.MaxUnavailable, mp)...)
			}
		}
	default:
		errs = append(errs, field.Invalid(up, s.UpdateStrategy, fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if pol := s.PersistentVolumeClaimRetentionPolicy; pol != nil {
		pp := p.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateRetentionPolicyType(pol.WhenDeleted, pp.Child("whenDeleted"))...)
		errs = append(errs, validateRetentionPolicyType(pol.WhenScaled, pp.Child("whenScaled"))...)
	}
	errs = append(errs, nonNegative(int64(derefInt32(s.Replicas)), p.Child("replicas"))...)
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	if s.Ordinals != nil {
		errs = append(errs, nonNegative(int64(s.Ordinals.Start), p.Child("ordinals.start"))...)
	}
	errs = append(errs, validateWorkloadSelector(s.Selector, p.Child("selector"), "statefulset")...)
	sel, err := metav1.LabelSelectorAsSelector(s.Selector)
	if err != nil {
		errs = append(errs, field.Invalid(p.Child("selector"), s.Selector, ""))
	} else {
		// Upstream checks only the template's labels and annotations here, not
		// the whole pod spec (volumes come from volumeClaimTemplates).
		tp := p.Child("template")
		if !sel.Empty() && !sel.Matches(labels.Set(s.Template.Labels)) {
			errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
		}
		errs = append(errs, metav1validation.ValidateLabels(s.Template.Labels, tp.Child("labels"))...)
		errs = append(errs, apivalidation.ValidateAnnotations(s.Template.Annotations, tp.Child("annotations"))...)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in StatefulSet is not Supported"))
	}
	return errs
}

func validateRetentionPolicyType(t appsv1.PersistentVolumeClaimRetentionPolicyType, p *field.Path) field.ErrorList {
	switch t {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(p, t, []string{string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}

func validateStatefulSetStatus(s *appsv1.StatefulSetStatus, p *field.Path) field.ErrorList {
	errs := nonNegative(int64(s.Replicas), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(s.ReadyReplicas), p.Child("readyReplicas"))...)
	errs = append(errs, nonNegative(int64(s.CurrentReplicas), p.Child("currentReplicas"))...)
	errs = append(errs, nonNegative(int64(s.UpdatedReplicas), p.Child("updatedReplicas"))...)
	errs = append(errs, nonNegative(int64(s.AvailableReplicas), p.Child("availableReplicas"))...)
	errs = append(errs, nonNegative(s.ObservedGeneration, p.Child("observedGeneration"))...)
	if s.CollisionCount != nil {
		errs = append(errs, nonNegative(int64(*s.CollisionCount), p.Child("collisionCount"))...)
	}
	const msg = "cannot be greater than status.replicas"
	if s.ReadyReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.CurrentReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("currentReplicas"), s.CurrentReplicas, msg))
	}
	if s.UpdatedReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("updatedReplicas"), s.UpdatedReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		errs = append(errs, field.Invalid(p.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than status.readyReplicas"))
	}
	return errs
}

// templateGenerationAnnotation carries the internal
// DaemonSetSpec.TemplateGeneration in apps/v1, as upstream's conversion does.
const templateGenerationAnnotation = "deprecated.daemonset.template.generation"

func daemonSetStrategy() strategy.Funcs {
	return hooks[*appsv1.DaemonSet]{
		defaults: defaultDaemonSet,
		prepareForCreate: func(ds *appsv1.DaemonSet) {
			ds.Status = appsv1.DaemonSetStatus{}
			setTemplateGeneration(ds, 1)
		},
		prepareForUpdate: func(ds, old *appsv1.DaemonSet) {
			ds.Status = old.Status
			gen := templateGeneration(old)
			if !semanticEqual(ds.Spec.Template, old.Spec.Template) {
				gen++
			}
			// Clients cannot move the template generation themselves; we
			// carry it forward instead of rejecting a changed annotation.
			setTemplateGeneration(ds, gen)
		},
		validate: func(ds *appsv1.DaemonSet) field.ErrorList {
			errs := validateObjectMeta(&ds.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validateDaemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(ds, old *appsv1.DaemonSet) field.ErrorList {
			errs := validateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta, metadataPath)
			errs = append(errs, validateDaemonSetSpec(&ds.Spec, field.NewPath("spec"))...)
			return append(errs, immutable(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
		},
		validateStatusUpdate: func(ds, old *appsv1.DaemonSet) field.ErrorList {
			errs := validateObjectMetaUpdate(&ds.ObjectMeta, &old.ObjectMeta, metadataPath)
			p := field.NewPath("status")
			st := &ds.Status
			for _, f := range []struct {
				name string
				v    int64
			}{
				{"currentNumberScheduled", int64(st.CurrentNumberScheduled)},
				{"numberMisscheduled", int64(st.NumberMisscheduled)},
				{"desiredNumberScheduled", int64(st.DesiredNumberScheduled)},
				{"numberReady", int64(st.NumberReady)},
				{"observedGeneration", st.ObservedGeneration},
				{"updatedNumberScheduled", int64(st.UpdatedNumberScheduled)},
				{"numberAvailable", int64(st.NumberAvailable)},
				{"numberUnavailable", int64(st.NumberUnavailable)},
			} {
				errs = append(errs, nonNegative(f.v, p.Child(f.name))...)
			}
			if st.CollisionCount != nil {
				errs = append(errs, nonNegative(int64(*st.CollisionCount), p.Child("collisionCount"))...)
			}
			if isDecremented(st.CollisionCount, old.Status.CollisionCount) {
				errs = append(errs, field.Invalid(p.Child("collisionCount"), derefInt32(st.CollisionCount), "cannot be decremented"))
			}
			return errs
		},
	}.funcs()
}

func templateGeneration(ds *appsv1.DaemonSet) int64 {
	n, err := strconv.ParseInt(ds.Annotations[templateGenerationAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func setTemplateGeneration(ds *appsv1.DaemonSet, gen int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[templateGenerationAnnotation] = strconv.FormatInt(gen, 10)
}

// defaultDaemonSet mirrors SetDefaults_DaemonSet of apps/v1.
func defaultDaemonSet(ds *appsv1.DaemonSet) {
	u := &ds.Spec.UpdateStrategy
	if u.Type == "" {
		u.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if u.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if u.RollingUpdate == nil {
			u.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if u.RollingUpdate.MaxUnavailable == nil {
			u.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
		if u.RollingUpdate.MaxSurge == nil {
			u.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(0))
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ds.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	regcore.DefaultPodTemplateSpec(&ds.Spec.Template)
}

func validateDaemonSetSpec(s *appsv1.DaemonSetSpec, p *field.Path) field.ErrorList {
	errs := validateSelector(s.Selector, p.Child("selector"))
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels, "`selector` does not match template `labels`"))
	}
	if s.Selector != nil && len(s.Selector.MatchLabels)+len(s.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(p.Child("selector"), s.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, regcore.ValidatePodTemplateSpec(&s.Template, p.Child("template"))...)
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("template", "spec", "restartPolicy"), s.Template.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if s.Template.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(p.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in DaemonSet is not Supported"))
	}
	errs = append(errs, nonNegative(int64(s.MinReadySeconds), p.Child("minReadySeconds"))...)
	up := p.Child("updateStrategy")
	switch s.UpdateStrategy.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
	case appsv1.RollingUpdateDaemonSetStrategyType:
		ru := s.UpdateStrategy.RollingUpdate
		if ru == nil {
			errs = append(errs, field.Required(up.Child("rollingUpdate"), ""))
			break
		}
		rp := up.Child("rollingUpdate")
		var maxUnavailable, maxSurge intstr.IntOrString
		if ru.MaxUnavailable != nil {
			maxUnavailable = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			maxSurge = *ru.MaxSurge
		}
		errs = append(errs, validatePositiveIntOrPercent(maxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(maxSurge, rp.Child("maxSurge"))...)
		errs = append(errs, notMoreThan100Percent(maxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(maxSurge, rp.Child("maxSurge"))...)
		hasUnavailable := intOrPercentValue(maxUnavailable) != 0
		hasSurge := intOrPercentValue(maxSurge) != 0
		switch {
		case hasUnavailable && hasSurge:
			errs = append(errs, field.Invalid(rp.Child("maxSurge"), ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
		case !hasUnavailable && !hasSurge:
			errs = append(errs, field.Required(rp.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
	default:
		errs = append(errs, field.NotSupported(up, s.UpdateStrategy, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)}))
	}
	if s.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*s.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func controllerRevisionStrategy() strategy.Funcs {
	validate := func(r *appsv1.ControllerRevision) field.ErrorList {
		errs := validateObjectMeta(&r.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
		if r.Data.Raw == nil && r.Data.Object == nil {
			errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
		}
		return append(errs, nonNegative(r.Revision, field.NewPath("revision"))...)
	}
	return hooks[*appsv1.ControllerRevision]{
		validate: validate,
		validateUpdate: func(r, old *appsv1.ControllerRevision) field.ErrorList {
			errs := validateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta, metadataPath)
			errs = append(errs, validate(r)...)
			return append(errs, immutable(r.Data, old.Data, field.NewPath("data"))...)
		},
	}.funcs()
}
