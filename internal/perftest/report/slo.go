package report

// The Kubernetes scalability SLOs (sig-scalability's api_call_latency and
// pod_startup_latency), in seconds.
const (
	// SLOMutatingOrSingle bounds p99 of mutating calls and single-object
	// reads (GET, and everything else that is not a LIST).
	SLOMutatingOrSingle = 1.0
	// SLONamespaceList bounds p99 of namespace-scoped LISTs.
	SLONamespaceList = 5.0
	// SLOClusterList bounds p99 of cluster-scoped LISTs.
	SLOClusterList = 30.0
	// SLOPodStartup bounds p99 of stateless pod startup (creation to
	// observed Running, no image pull).
	SLOPodStartup = 5.0
)

// APIThreshold returns the p99 SLO of an endpoint, or 0 for calls the SLO
// does not cover (WATCH and long-running CONNECT, which last as long as
// the client wants).
func APIThreshold(e APIEndpoint) float64 {
	switch e.Verb {
	case "WATCH", "WATCHLIST", "CONNECT", "watch", "connect":
		return 0
	case "LIST", "list":
		switch e.Scope {
		case "cluster":
			return SLOClusterList
		default:
			return SLONamespaceList
		}
	default:
		return SLOMutatingOrSingle
	}
}
