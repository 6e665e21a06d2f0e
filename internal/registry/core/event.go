package core

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// Length limits of the newer event fields, as upstream.
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// eventStrategy covers core/v1 Events, which upstream validates only with
// its lenient legacy rules for backwards compatibility; the strict rules
// apply to events.k8s.io/v1 only.
func eventStrategy() strategy.Funcs {
	return strategy.Funcs{
		Validate: func(obj runtime.Object) field.ErrorList {
			ev := obj.(*corev1.Event)
			allErrs := apimachineryvalidation.ValidateObjectMeta(&ev.ObjectMeta, true, path.ValidatePathSegmentName, metadataPath)
			return append(allErrs, validateLegacyEvent(ev)...)
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			ev, o := obj.(*corev1.Event), old.(*corev1.Event)
			allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&ev.ObjectMeta, &o.ObjectMeta, metadataPath)
			return append(allErrs, validateLegacyEvent(ev)...)
		},
		Fields: func(obj runtime.Object) fields.Set {
			ev := obj.(*corev1.Event)
			src := ev.Source.Component
			if src == "" {
				src = ev.ReportingController
			}
			return fields.Set{
				"involvedObject.kind":            ev.InvolvedObject.Kind,
				"involvedObject.namespace":       ev.InvolvedObject.Namespace,
				"involvedObject.name":            ev.InvolvedObject.Name,
				"involvedObject.uid":             string(ev.InvolvedObject.UID),
				"involvedObject.apiVersion":      ev.InvolvedObject.APIVersion,
				"involvedObject.resourceVersion": ev.InvolvedObject.ResourceVersion,
				"involvedObject.fieldPath":       ev.InvolvedObject.FieldPath,
				"reason":                         ev.Reason,
				"reportingComponent":             ev.ReportingController,
				"source":                         src,
				"type":                           ev.Type,
			}
		},
	}
}

func validateLegacyEvent(ev *corev1.Event) field.ErrorList {
	var allErrs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	const mismatch = "does not match event.namespace"
	if ev.EventTime.IsZero() {
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				allErrs = append(allErrs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, mismatch))
			}
		} else if ev.Namespace != ev.InvolvedObject.Namespace {
			allErrs = append(allErrs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, mismatch))
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			allErrs = append(allErrs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, mismatch))
		}
		rc := field.NewPath("reportingController")
		if ev.ReportingController == "" {
			allErrs = append(allErrs, field.Required(rc, ""))
		}
		for _, msg := range validation.IsQualifiedName(ev.ReportingController) {
			allErrs = append(allErrs, field.Invalid(rc, ev.ReportingController, msg))
		}
		limit := func(name, value string, max int, requiredField bool) {
			p := field.NewPath(name)
			if requiredField && value == "" {
				allErrs = append(allErrs, field.Required(p, ""))
			}
			if len(value) > max {
				allErrs = append(allErrs, field.Invalid(p, "", fmt.Sprintf("can have at most %v characters", max)))
			}
		}
		limit("reportingInstance", ev.ReportingInstance, reportingInstanceLengthLimit, true)
		limit("action", ev.Action, actionLengthLimit, true)
		limit("reason", ev.Reason, reasonLengthLimit, true)
		limit("message", ev.Message, noteLengthLimit, false)
	}
	for _, msg := range validation.IsDNS1123Subdomain(ev.Namespace) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("namespace"), ev.Namespace, msg))
	}
	return allErrs
}
