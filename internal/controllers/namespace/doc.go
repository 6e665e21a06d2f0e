// Package namespace is kplane's namespace controller (upstream's
// "namespace" controller, service account namespace-controller). When a
// namespace is being deleted it deletes every namespaced object in it,
// reports progress in the namespace's status conditions as upstream does
// (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
// NamespaceDeletionContentFailure, NamespaceContentRemaining,
// NamespaceFinalizersRemaining), waits for content held by finalizers or
// pod grace periods, and finally removes the "kubernetes" finalizer through
// the namespaces/<name>/finalize subresource, after which the API server
// deletes the namespace.
package namespace
