package manager

import (
	"kplane/internal/controllers/disruption"
)

// disruptionControllers lists the disruption controller, which keeps
// PodDisruptionBudget status for the eviction API (one worker, as
// upstream).
func disruptionControllers() []Entry {
	return []Entry{
		{Name: disruption.Name, ServiceAccount: "disruption-controller", Workers: 1, New: disruption.New},
	}
}
