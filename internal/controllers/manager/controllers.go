package manager

import (
	"kplane/internal/controllers"
)

// Entry is one controller the manager can run.
type Entry struct {
	// Name as in --controllers (e.g. "replicaset").
	Name string
	// ServiceAccount in kube-system whose token the controller uses (e.g.
	// "replicaset-controller"; bound to system:controller:<sa> by the
	// bootstrap RBAC policy).
	ServiceAccount string
	// Workers is the default concurrency.
	Workers int
	New     controllers.Constructor
	// Configure, when set, builds the constructor from the manager's
	// Config instead of New (controllers with their own options).
	Configure func(cfg *Config) controllers.Constructor
}

// Known lists every controller kplane has.
func Known() []Entry {
	var all []Entry
	for _, list := range [][]Entry{replicationControllers(), deploymentControllers(), gcControllers(), nodeControllers(), batchControllers(), autoscalingControllers(), disruptionControllers()} {
		all = append(all, list...)
	}
	return all
}
