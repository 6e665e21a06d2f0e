package manager

import (
	"kplane/internal/controllers/garbagecollector"
	"kplane/internal/controllers/namespace"
)

// gcControllers lists the garbage collector and namespace deletion controllers.
func gcControllers() []Entry {
	return []Entry{
		// Upstream's --concurrent-gc-syncs and --concurrent-namespace-syncs
		// default to 20 and 10.
		{Name: garbagecollector.Name, ServiceAccount: "generic-garbage-collector", Workers: 20, New: garbagecollector.New},
		{Name: namespace.Name, ServiceAccount: "namespace-controller", Workers: 10, New: namespace.New},
	}
}
