// Package strategy holds the per-kind hooks (defaulting, preparation,
// validation, field-selector attributes) that the generic registry calls.
// It is a leaf package so that the packages defining the hooks for each API
// group (registry/core, registry/apis) and the registry that calls them do
// not import each other.
package strategy

import (
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Funcs are the hooks of one kind. Every hook receives the typed k8s.io/api
// object of the kind's storage version (e.g. *corev1.Pod,
// *autoscalingv2.HorizontalPodAutoscaler) and may be nil.
//
// Order on create: decode → Default → server metadata (uid,
// creationTimestamp, generation=1, name from generateName) → PrepareForCreate
// → Validate → store.
// Order on update: decode → Default → generic split (for kinds with a status
// subresource the main resource keeps the old status, the status subresource
// keeps the old spec; generation is bumped when spec changes) →
// PrepareForUpdate → ValidateUpdate → store.
type Funcs struct {
	// Default sets unset fields as upstream's SetDefaults_* functions do.
	Default func(obj runtime.Object)
	// PrepareForCreate resets what clients may not set on create (usually
	// status) and derives server-owned fields. UID is already set.
	PrepareForCreate func(obj runtime.Object)
	// PrepareForUpdate carries forward fields a client may not change on the
	// main resource beyond the generic spec/status split.
	PrepareForUpdate func(obj, old runtime.Object)
	// Validate checks a new object, including its ObjectMeta (name rules of
	// the kind, labels, annotations) and returns upstream's field errors.
	Validate func(obj runtime.Object) field.ErrorList
	// ValidateUpdate checks an update, including immutable fields and
	// ObjectMeta update rules, and the new object itself.
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// ValidateStatusUpdate checks an update through the status subresource.
	ValidateStatusUpdate func(obj, old runtime.Object) field.ErrorList
	// Fields returns the kind-specific field-selector attributes (e.g.
	// spec.nodeName for pods). metadata.name and metadata.namespace are added
	// by the registry.
	Fields func(obj runtime.Object) fields.Set
}
