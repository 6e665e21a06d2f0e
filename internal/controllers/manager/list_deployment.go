package manager

import "kplane/internal/controllers/deployment"

// deploymentControllers lists the deployment controllers.
func deploymentControllers() []Entry {
	return []Entry{{Name: "deployment", ServiceAccount: "deployment-controller", Workers: 5, New: deployment.New}}
}
