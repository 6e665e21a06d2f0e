// Package apis holds the per-kind strategy hooks (defaulting, preparation,
// validation, field-selector attributes) for the non-core API groups kplane
// serves: apps, batch, autoscaling, policy, coordination, discovery,
// events, networking, rbac, storage and scheduling.
//
// The rules re-implement upstream Kubernetes v1.37 (pkg/apis/<group>/v1
// defaults, pkg/apis/<group>/validation and pkg/registry/<group>/<kind>
// strategies) directly on the k8s.io/api typed objects of each kind's
// storage version, so that the field errors a client sees in a 422 Invalid
// response are the ones upstream produces. Pod template rules come from
// package registry/core.
//
// Besides the hooks, the package owns the version conversions the API
// server needs to serve a kind in a version other than its storage version:
// autoscaling/v1 HorizontalPodAutoscaler (stored as autoscaling/v2) and
// events.k8s.io/v1 Event (stored as core/v1 Event, as upstream does).
package apis
