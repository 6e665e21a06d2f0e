// Package manager runs kplane's controllers as kube-controller-manager
// does: one shared informer factory, one client per controller that
// authenticates as the controller's own service account in kube-system
// (upstream's --use-service-account-credentials), leader election over a
// coordination.k8s.io Lease, and a small HTTPS endpoint for /healthz,
// /metrics and /debug/pprof.
package manager
