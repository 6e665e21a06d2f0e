// Package endpointslice keeps discovery.k8s.io/v1 EndpointSlices for every
// Service with a selector, as upstream's endpointslice controller
// (pkg/controller/endpointslice) does: one set of slices per address type
// and port set, at most MaxEndpointsPerSlice endpoints each, owned by the
// Service and labelled kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io.
// Endpoints carry ready/serving/terminating conditions, the pod reference,
// node name and zone.
package endpointslice
