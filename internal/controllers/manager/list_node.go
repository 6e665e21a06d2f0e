package manager

import (
	"kplane/internal/controllers"
	"kplane/internal/controllers/endpoints"
	"kplane/internal/controllers/endpointslice"
	"kplane/internal/controllers/nodelifecycle"
	"kplane/internal/controllers/serviceaccount"
)

// nodeControllers lists the node lifecycle, taint eviction, service
// accounts, endpoints and endpoint slices controllers.
func nodeControllers() []Entry {
	return []Entry{
		{Name: nodelifecycle.Name, ServiceAccount: "node-controller", Workers: 8, New: nodelifecycle.New,
			Configure: func(cfg *Config) controllers.Constructor { return nodelifecycle.NewWithOptions(cfg.NodeLifecycle) }},
		{Name: nodelifecycle.TaintEvictionName, ServiceAccount: "taint-eviction-controller", Workers: 8, New: nodelifecycle.NewTaintEviction},
		{Name: serviceaccount.Name, ServiceAccount: "service-account-controller", Workers: 1, New: serviceaccount.New},
		{Name: endpoints.Name, ServiceAccount: "endpoint-controller", Workers: 5, New: endpoints.New},
		{Name: endpointslice.Name, ServiceAccount: "endpointslice-controller", Workers: 5, New: endpointslice.New},
	}
}
