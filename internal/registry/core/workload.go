package core

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

func podTemplateStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default: func(obj runtime.Object) { DefaultPodTemplateSpec(&obj.(*corev1.PodTemplate).Template) },
		PrepareForUpdate: func(obj, old runtime.Object) {
			// PodTemplate has no spec, so bump generation on template changes
			// here as upstream's strategy does.
			n, o := obj.(*corev1.PodTemplate), old.(*corev1.PodTemplate)
			if !apiequality.Semantic.DeepEqual(n.Template, o.Template) {
				n.Generation = o.Generation + 1
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList { return validatePodTemplate(obj.(*corev1.PodTemplate)) },
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			n, o := obj.(*corev1.PodTemplate), old.(*corev1.PodTemplate)
			allErrs := validateObjectMetaUpdate(&n.ObjectMeta, &o.ObjectMeta, metadataPath)
			return append(allErrs, ValidatePodTemplateSpec(&n.Template, field.NewPath("template"))...)
		},
	}
}

func validatePodTemplate(t *corev1.PodTemplate) field.ErrorList {
	allErrs := validateObjectMeta(&t.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	return append(allErrs, ValidatePodTemplateSpec(&t.Template, field.NewPath("template"))...)
}

func replicationControllerStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default: func(obj runtime.Object) { defaultReplicationController(obj.(*corev1.ReplicationController)) },
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*corev1.ReplicationController).Status = corev1.ReplicationControllerStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			rc := obj.(*corev1.ReplicationController)
			allErrs := validateObjectMeta(&rc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
			return append(allErrs, validateReplicationControllerSpec(&rc.Spec, specPath)...)
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			rc, o := obj.(*corev1.ReplicationController), old.(*corev1.ReplicationController)
			allErrs := validateObjectMetaUpdate(&rc.ObjectMeta, &o.ObjectMeta, metadataPath)
			return append(allErrs, validateReplicationControllerSpec(&rc.Spec, specPath)...)
		},
		ValidateStatusUpdate: func(obj, old runtime.Object) field.ErrorList {
			rc, o := obj.(*corev1.ReplicationController), old.(*corev1.ReplicationController)
			allErrs := validateObjectMetaUpdate(&rc.ObjectMeta, &o.ObjectMeta, metadataPath)
			return append(allErrs, validateReplicationControllerStatus(rc.Status, statusPath)...)
		},
		Fields: func(obj runtime.Object) fields.Set {
			return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))}
		},
	}
}

func defaultReplicationController(rc *corev1.ReplicationController) {
	if rc.Spec.Template != nil {
		if l := rc.Spec.Template.Labels; l != nil {
			if len(rc.Spec.Selector) == 0 {
				rc.Spec.Selector = l
			}
			if len(rc.Labels) == 0 {
				rc.Labels = l
			}
		}
		DefaultPodTemplateSpec(rc.Spec.Template)
	}
	if rc.Spec.Replicas == nil {
		one := int32(1)
		rc.Spec.Replicas = &one
	}
}

func validateReplicationControllerSpec(spec *corev1.ReplicationControllerSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	if len(spec.Selector) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	}
	var replicas int32
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	allErrs = append(allErrs, validateNonnegativeField(int64(replicas), fldPath.Child("replicas")).WithOrigin("minimum")...)
	tp := fldPath.Child("template")
	t := spec.Template
	if t == nil {
		return append(allErrs, field.Required(tp, ""))
	}
	if len(spec.Selector) > 0 && !selectorMatchesLabels(spec.Selector, t.Labels) {
		allErrs = append(allErrs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	allErrs = append(allErrs, ValidatePodTemplateSpec(t, tp)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, field.NotSupported(tp.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return allErrs
}

func validateReplicationControllerStatus(s corev1.ReplicationControllerStatus, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeField(int64(s.Replicas), fldPath.Child("replicas"))
	allErrs = append(allErrs, validateNonnegativeField(int64(s.FullyLabeledReplicas), fldPath.Child("fullyLabeledReplicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(s.ReadyReplicas), fldPath.Child("readyReplicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(s.AvailableReplicas), fldPath.Child("availableReplicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(s.ObservedGeneration, fldPath.Child("observedGeneration"))...)
	const msg = "cannot be greater than status.replicas"
	if s.FullyLabeledReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("fullyLabeledReplicas"), s.FullyLabeledReplicas, msg))
	}
	if s.ReadyReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("readyReplicas"), s.ReadyReplicas, msg))
	}
	if s.AvailableReplicas > s.Replicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("availableReplicas"), s.AvailableReplicas, msg))
	}
	if s.AvailableReplicas > s.ReadyReplicas {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("availableReplicas"), s.AvailableReplicas, "cannot be greater than readyReplicas"))
	}
	return allErrs
}
