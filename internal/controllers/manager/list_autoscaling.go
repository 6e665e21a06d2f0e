package manager

import (
	"kplane/internal/controllers"
	"kplane/internal/controllers/podautoscaler"
)

// autoscalingControllers lists the horizontal pod autoscaler (upstream's
// --concurrent-horizontal-pod-autoscaler-syncs default is 5).
func autoscalingControllers() []Entry {
	return []Entry{
		{Name: podautoscaler.Name, ServiceAccount: "horizontal-pod-autoscaler", Workers: 5, New: podautoscaler.New,
			Configure: func(cfg *Config) controllers.Constructor {
				return podautoscaler.NewWithOptions(cfg.HorizontalPodAutoscaler)
			}},
	}
}
