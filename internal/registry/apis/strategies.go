package apis

import (
	"fmt"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// Strategies returns the hooks for every kind this package covers, keyed by
// the GroupKind of its storage version. A fresh map is built on each call so
// callers may add to it without affecting other API servers in the process.
//
// events.k8s.io Event is deliberately absent: it is stored as core/v1 Event
// whose hooks belong to registry/core; see EventToCore and ValidateEventsV1.
func Strategies() map[schema.GroupKind]strategy.Funcs {
	return map[schema.GroupKind]strategy.Funcs{
		{Group: "apps", Kind: "Deployment"}:                              deploymentStrategy(),
		{Group: "apps", Kind: "ReplicaSet"}:                              replicaSetStrategy(),
		{Group: "apps", Kind: "StatefulSet"}:                             statefulSetStrategy(),
		{Group: "apps", Kind: "DaemonSet"}:                               daemonSetStrategy(),
		{Group: "apps", Kind: "ControllerRevision"}:                      controllerRevisionStrategy(),
		{Group: "batch", Kind: "Job"}:                                    jobStrategy(),
		{Group: "batch", Kind: "CronJob"}:                                cronJobStrategy(),
		{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:          hpaStrategy(),
		{Group: "policy", Kind: "PodDisruptionBudget"}:                   pdbStrategy(),
		{Group: "coordination.k8s.io", Kind: "Lease"}:                    leaseStrategy(),
		{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:               endpointSliceStrategy(),
		{Group: "networking.k8s.io", Kind: "Ingress"}:                    ingressStrategy(),
		{Group: "networking.k8s.io", Kind: "IngressClass"}:               ingressClassStrategy(),
		{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:              networkPolicyStrategy(),
		{Group: "rbac.authorization.k8s.io", Kind: "Role"}:               roleStrategy(),
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:        clusterRoleStrategy(),
		{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:        roleBindingStrategy(),
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: clusterRoleBindingStrategy(),
		{Group: "storage.k8s.io", Kind: "StorageClass"}:                  storageClassStrategy(),
		{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:              priorityClassStrategy(),
	}
}

// hooks is the typed form of strategy.Funcs for one kind. Writing each kind
// against its concrete type keeps the type assertions in one place (funcs).
type hooks[T runtime.Object] struct {
	defaults             func(T)
	prepareForCreate     func(T)
	prepareForUpdate     func(obj, old T)
	validate             func(T) field.ErrorList
	validateUpdate       func(obj, old T) field.ErrorList
	validateStatusUpdate func(obj, old T) field.ErrorList
	fields               func(T) fields.Set
}

// wrongType reports a registry wiring bug (a hook called with an object of
// another kind) as an internal error instead of panicking the server.
func wrongType[T runtime.Object](got runtime.Object) field.ErrorList {
	var want T
	return field.ErrorList{field.InternalError(nil, fmt.Errorf("strategy for %T called with %T", want, got))}
}

func (h hooks[T]) funcs() strategy.Funcs {
	var f strategy.Funcs
	if h.defaults != nil {
		f.Default = func(obj runtime.Object) {
			if o, ok := obj.(T); ok {
				h.defaults(o)
			}
		}
	}
	if h.prepareForCreate != nil {
		f.PrepareForCreate = func(obj runtime.Object) {
			if o, ok := obj.(T); ok {
				h.prepareForCreate(o)
			}
		}
	}
	if h.prepareForUpdate != nil {
		f.PrepareForUpdate = func(obj, old runtime.Object) {
			o, ok1 := obj.(T)
			p, ok2 := old.(T)
			if ok1 && ok2 {
				h.prepareForUpdate(o, p)
			}
		}
	}
	if h.validate != nil {
		f.Validate = func(obj runtime.Object) field.ErrorList {
			o, ok := obj.(T)
			if !ok {
				return wrongType[T](obj)
			}
			return h.validate(o)
		}
	}
	if h.validateUpdate != nil {
		f.ValidateUpdate = func(obj, old runtime.Object) field.ErrorList {
			o, ok := obj.(T)
			if !ok {
				return wrongType[T](obj)
			}
			p, ok := old.(T)
			if !ok {
				return wrongType[T](old)
			}
			return h.validateUpdate(o, p)
		}
	}
	if h.validateStatusUpdate != nil {
		f.ValidateStatusUpdate = func(obj, old runtime.Object) field.ErrorList {
			o, ok := obj.(T)
			if !ok {
				return wrongType[T](obj)
			}
			p, ok := old.(T)
			if !ok {
				return wrongType[T](old)
			}
			return h.validateStatusUpdate(o, p)
		}
	}
	if h.fields != nil {
		f.Fields = func(obj runtime.Object) fields.Set {
			if o, ok := obj.(T); ok {
				return h.fields(o)
			}
			return nil
		}
	}
	return f
}
