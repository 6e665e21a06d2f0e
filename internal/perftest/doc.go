// Package perftest runs the Kubernetes scalability tests (density and load)
// against any cluster reachable with a kubeconfig, using client-go only, and
// turns what it measured into SLO verdicts and a report.
//
// It owns the drivers (density.go, load.go), the workload spec and tuning
// sets that pace them (spec.go, tuning.go), and the measurements: API
// latency from the server's apiserver_request_duration_seconds histograms
// (scraped at start and end and differenced, apimetrics.go) and from the
// client side (clientlatency.go), per-pod startup timings from a pod
// informer (podtiming.go), throughput over time, control-plane CPU and
// memory (resources.go) and optional pprof captures (pprof.go). The result
// schema and every output format live in the report subpackage so that
// `kplane report compare` reads results without running anything.
//
// Nothing here knows how nodes come to exist: `kplane test --create-nodes`
// starts hollow nodes in the same process before the driver runs, and the
// driver only waits for Ready nodes through the API.
package perftest
