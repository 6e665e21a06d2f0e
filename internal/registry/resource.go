package registry

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/registry/strategy"
)

// Resource describes one served group/version/resource.
type Resource struct {
	Group, Version, Resource string
	Kind, ListKind, Singular string
	ShortNames, Categories   []string
	Namespaced               bool
	// StoragePath is the key segment under /registry (upstream's, e.g.
	// "services/specs" for services, "minions" for nodes).
	StoragePath string
	// StorageKind is the kind the hooks and storage see; it differs from the
	// served kind for autoscaling/v1 HPAs and events.k8s.io/v1 events.
	StorageKind schema.GroupVersionKind
	// New and NewList make empty objects of the served version.
	New, NewList func() runtime.Object
	// ToStorage and FromStorage convert between served and storage
	// versions; nil means they are the same type.
	ToStorage, FromStorage func(runtime.Object) (runtime.Object, error)
	Strategy               strategy.Funcs
	// HasStatus gives the resource a status subresource and splits updates:
	// the main resource keeps the stored status, status keeps the spec.
	HasStatus bool
	// Scale gives the resource a scale subresource (autoscaling/v1 Scale).
	Scale bool
	// AllowCreateOnUpdate lets PUT create a missing object, as upstream
	// allows for e.g. leases, endpoints and events.
	AllowCreateOnUpdate bool
	// ReturnDeletedObject answers DELETE with the object instead of a
	// Status, as upstream does for pods, namespaces and a few others.
	ReturnDeletedObject bool
	// StatusKeepsAnnotations lets status updates change annotations. Most
	// upstream status strategies reset them; the deployment's does not,
	// because the deployment controller records its revision annotation
	// through the status subresource.
	StatusKeepsAnnotations bool
	// Subresources beyond status and scale (binding, eviction, finalize).
	Subresources []string
	// Verbs served; nil means all of get, list, watch, create, update,
	// patch, delete, deletecollection.
	Verbs []string
	// NoGeneration marks kinds without a spec (configmaps, secrets...), which
	// upstream does not give metadata.generation.
	NoGeneration bool
}

// AllVerbs is the verb set of an ordinary resource.
var AllVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// GVR is the served group/version/resource.
func (r *Resource) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// GVK is the served group/version/kind.
func (r *Resource) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind}
}

// QualifiedKind is the group kind used in error messages (Deployment.apps).
func (r *Resource) QualifiedKind() schema.GroupKind {
	return schema.GroupKind{Group: r.StorageKind.Group, Kind: r.StorageKind.Kind}
}

// QualifiedResource is the group resource used in error messages (deployments.apps).
func (r *Resource) QualifiedResource() schema.GroupResource {
	return schema.GroupResource{Group: r.Group, Resource: r.Resource}
}

// ServedVerbs returns Verbs or AllVerbs.
func (r *Resource) ServedVerbs() []string {
	if r.Verbs != nil {
		return r.Verbs
	}
	return AllVerbs
}

// HasVerb reports whether the resource serves verb.
func (r *Resource) HasVerb(verb string) bool {
	for _, v := range r.ServedVerbs() {
		if v == verb {
			return true
		}
	}
	return false
}

// HasSubresource reports whether name is one of the resource's subresources.
func (r *Resource) HasSubresource(name string) bool {
	switch name {
	case "status":
		return r.HasStatus
	case "scale":
		return r.Scale
	}
	for _, s := range r.Subresources {
		if s == name {
			return true
		}
	}
	return false
}

// toStorage converts a served object to the storage version.
func (r *Resource) toStorage(obj runtime.Object) (runtime.Object, error) {
	if r.ToStorage == nil {
		return obj, nil
	}
	return r.ToStorage(obj)
}

// fromStorage converts a stored object to the served version.
func (r *Resource) fromStorage(obj runtime.Object) (runtime.Object, error) {
	if r.FromStorage == nil {
		return obj, nil
	}
	return r.FromStorage(obj)
}

// ToServed converts a storage-version object to this resource's version.
func (r *Resource) ToServed(obj runtime.Object) (runtime.Object, error) { return r.fromStorage(obj) }

// ToStored converts an object of this resource's version to storage.
func (r *Resource) ToStored(obj runtime.Object) (runtime.Object, error) { return r.toStorage(obj) }
