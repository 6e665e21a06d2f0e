// Package componentserver serves the HTTPS endpoints every standalone
// component (scheduler, controller manager) offers, as upstream's
// kube-scheduler and kube-controller-manager do on --secure-port:
// /healthz, /livez and /readyz open to anyone, and /metrics and
// /debug/pprof/* behind delegated authentication and authorization —
// bearer tokens are checked with a TokenReview and client certificates
// against the cluster CA of the component's kubeconfig, then a
// SubjectAccessReview asks the API server whether the user may get the
// path. Decisions are cached briefly so a scraper does not cost two API
// calls per scrape.
package componentserver
