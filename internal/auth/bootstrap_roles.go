package auth

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// clusterRoles returns the non-controller default cluster roles, rule for
// rule as upstream's bootstrappolicy (testdata/cluster-roles.yaml).
func clusterRoles() []*rbacv1.ClusterRole {
	aggregated := func(name, selectorLabel string, ownLabels map[string]string) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: ownLabels},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
				{MatchLabels: map[string]string{selectorLabel: "true"}},
			}},
		}
	}
	labelled := func(cr *rbacv1.ClusterRole, label string) *rbacv1.ClusterRole {
		cr.Labels = map[string]string{label: "true"}
		return cr
	}
	return []*rbacv1.ClusterRole{
		// A "root" role which can do absolutely anything.
		clusterRole("cluster-admin",
			newRule("*").groups("*").resources("*").rule(),
			newRule("*").urls("*").rule()),

		// Just enough to check readiness and discover API versions.
		clusterRole("system:discovery",
			newRule("get").urls(
				"/livez", "/readyz", "/healthz",
				"/version", "/version/",
				"/openapi", "/openapi/*",
				"/api", "/api/*",
				"/apis", "/apis/*",
			).rule()),

		// Insensitive cluster information, readable even anonymously.
		clusterRole("system:public-info-viewer",
			newRule("get").urls("/livez", "/readyz", "/healthz", "/version", "/version/").rule()),

		// Lets a user learn about themselves.
		clusterRole("system:basic-user",
			newRule("create").groups(authorizationGroup).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews").rule(),
			newRule("create").groups(authenticationGroup).resources("selfsubjectreviews").rule()),

		clusterRole("system:service-account-issuer-discovery",
			newRule("get").urls(
				"/.well-known/openid-configuration", "/.well-known/openid-configuration/",
				"/openid/v1/jwks", "/openid/v1/jwks/",
			).rule()),

		// Namespace admin: edit plus granting permissions in the namespace.
		aggregated("admin", aggregateToAdmin, nil),
		// Namespace editor: all user-level actions, but not RBAC, quota or
		// status subresources.
		aggregated("edit", aggregateToEdit, map[string]string{aggregateToAdmin: "true"}),
		// Namespace viewer: read-only, excluding secrets and escalating
		// subresources.
		aggregated("view", aggregateToView, map[string]string{aggregateToEdit: "true"}),

		labelled(clusterRole("system:aggregate-to-admin",
			newRule("create").groups(authorizationGroup).resources("localsubjectaccessreviews").rule(),
			newRule(verbsReadWrite...).groups(rbacGroup).resources("roles", "rolebindings").rule(),
		), aggregateToAdmin),

		labelled(clusterRole("system:aggregate-to-edit",
			// Read access to escalating resources.
			newRule(verbsRead...).groups(legacyGroup).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy").rule(),
			newRule("impersonate").groups(legacyGroup).resources("serviceaccounts").rule(),
			newRule(verbsWrite...).groups(legacyGroup).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward").rule(),
			newRule("create").groups(legacyGroup).resources("pods/eviction").rule(),
			newRule(verbsWrite...).groups(legacyGroup).resources("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets").rule(),
			newRule("create").groups(legacyGroup).resources("serviceaccounts/token").rule(),
			newRule(verbsWrite...).groups(legacyGroup, eventsGroup).resources("events").rule(),
			newRule(verbsWrite...).groups(appsGroup).resources(
				"statefulsets", "statefulsets/scale",
				"daemonsets",
				"deployments", "deployments/scale", "deployments/rollback",
				"replicasets", "replicasets/scale").rule(),
			newRule(verbsWrite...).groups(autoscalingGroup).resources("horizontalpodautoscalers").rule(),
			newRule(verbsWrite...).groups(batchGroup).resources("jobs", "cronjobs").rule(),
			newRule(verbsWrite...).groups(extensionsGroup).resources("daemonsets",
				"deployments", "deployments/scale", "deployments/rollback", "ingresses",
				"replicasets", "replicasets/scale", "replicationcontrollers/scale",
				"networkpolicies").rule(),
			newRule(verbsWrite...).groups(policyGroup).resources("poddisruptionbudgets").rule(),
			newRule(verbsWrite...).groups(networkingGroup).resources("networkpolicies", "ingresses").rule(),
			newRule(verbsReadWrite...).groups(coordinationGroup).resources("leases").rule(),
			newRule(verbsWrite...).groups(resourceGroup).resources("resourceclaims", "resourceclaimtemplates").rule(),
		), aggregateToEdit),

		labelled(clusterRole("system:aggregate-to-view",
			newRule(verbsRead...).groups(legacyGroup).resources("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps").rule(),
			newRule(verbsRead...).groups(legacyGroup).resources("limitranges", "resourcequotas", "bindings",
				"pods/status", "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log").rule(),
			// Reading namespaces at namespace scope means reading *this*
			// namespace: an indicator of which namespaces one can access.
			newRule(verbsRead...).groups(legacyGroup).resources("namespaces").rule(),
			newRule(verbsRead...).groups(legacyGroup, eventsGroup).resources("events").rule(),
			newRule(verbsRead...).groups(discoveryGroup).resources("endpointslices").rule(),
			newRule(verbsRead...).groups(appsGroup).resources(
				"controllerrevisions",
				"statefulsets", "statefulsets/status", "statefulsets/scale",
				"daemonsets", "daemonsets/status",
				"deployments", "deployments/status", "deployments/scale",
				"replicasets", "replicasets/status", "replicasets/scale").rule(),
			newRule(verbsRead...).groups(autoscalingGroup).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status").rule(),
			newRule(verbsRead...).groups(batchGroup).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status").rule(),
			newRule(verbsRead...).groups(extensionsGroup).resources("daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
				"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
				"networkpolicies").rule(),
			newRule(verbsRead...).groups(policyGroup).resources("poddisruptionbudgets", "poddisruptionbudgets/status").rule(),
			newRule(verbsRead...).groups(networkingGroup).resources("networkpolicies", "ingresses", "ingresses/status").rule(),
			newRule(verbsRead...).groups(resourceGroup).resources("resourceclaims", "resourceclaims/status", "resourceclaimtemplates").rule(),
		), aggregateToView),

		// Reading the resource metrics API (kubectl top). Upstream ships it
		// with metrics-server; kplane serves metrics.k8s.io itself.
		func() *rbacv1.ClusterRole {
			cr := clusterRole("system:aggregated-metrics-reader",
				newRule("get", "list", "watch").groups("metrics.k8s.io").resources("pods", "nodes").rule())
			cr.Labels = map[string]string{aggregateToAdmin: "true", aggregateToEdit: "true", aggregateToView: "true"}
			return cr
		}(),

		clusterRole("system:monitoring",
			newRule("get").urls(
				"/metrics", "/metrics/slis",
				"/livez", "/readyz", "/healthz",
				"/livez/*", "/readyz/*", "/healthz/*",
				"/statusz",
			).rule(),
			newRule("get").groups(legacyGroup).resources("nodes/metrics").rule()),

		clusterRole("system:auth-delegator",
			newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule()),

		clusterRole("system:node", nodeRules()...),

		clusterRole("system:node-proxier",
			newRule("list", "watch").groups(legacyGroup).resources("services", "endpoints").rule(),
			newRule(verbsRead...).groups(legacyGroup).resources("nodes").rule(),
			eventsRule(),
			newRule("list", "watch").groups(networkingGroup).resources("servicecidrs").rule(),
			newRule("list", "watch").groups(discoveryGroup).resources("endpointslices").rule()),

		clusterRole("system:kube-controller-manager",
			eventsRule(),
			// Leader election.
			newRule("create").groups(coordinationGroup).resources("leases").rule(),
			newRule("get", "update").groups(coordinationGroup).resources("leases").names("kube-controller-manager").rule(),
			// Service-account credentials for the controllers.
			newRule("create").groups(legacyGroup).resources("secrets", "serviceaccounts").rule(),
			newRule("delete").groups(legacyGroup).resources("secrets").rule(),
			newRule("get").groups(legacyGroup).resources("namespaces", "secrets", "serviceaccounts", "configmaps").rule(),
			newRule("update").groups(legacyGroup).resources("secrets", "serviceaccounts").rule(),
			// Delegated authentication and authorization.
			newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule(),
			// Shared informers.
			newRule("list", "watch").groups("*").resources("*").rule(),
			newRule("create").groups(legacyGroup).resources("serviceaccounts/token").rule()),

		clusterRole("system:kube-scheduler",
			eventsRule(),
			// Leader election.
			newRule("create").groups(coordinationGroup).resources("leases").rule(),
			newRule("get", "update", "list", "watch").groups(coordinationGroup).resources("leases").names("kube-scheduler").rule(),
			newRule(verbsReadWrite...).groups(coordinationGroup).resources("leasecandidates").rule(),
			// Fundamental resources.
			newRule(verbsRead...).groups(legacyGroup).resources("nodes").rule(),
			newRule("get", "list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			newRule("create").groups(legacyGroup).resources("pods/binding", "bindings").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("pods/status").rule(),
			// Things that select pods, for spreading.
			newRule(verbsRead...).groups(legacyGroup).resources("replicationcontrollers", "services").rule(),
			newRule(verbsRead...).groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			newRule(verbsRead...).groups(appsGroup).resources("statefulsets").rule(),
			// Preemption.
			newRule(verbsRead...).groups(policyGroup).resources("poddisruptionbudgets").rule(),
			// Volume binding.
			newRule(verbsRead...).groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes").rule(),
			// Delegated authentication and authorization.
			newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
			newRule("create").groups(authorizationGroup).resources("subjectaccessreviews").rule(),
			newRule(verbsRead...).groups(storageGroup).resources("csinodes").rule(),
			newRule(verbsRead...).groups(storageGroup).resources("volumeattachments").rule(),
			newRule(verbsRead...).groups(legacyGroup).resources("namespaces").rule(),
			newRule(verbsRead...).groups(storageGroup).resources("csidrivers").rule(),
			newRule(verbsRead...).groups(storageGroup).resources("csistoragecapacities").rule(),
			// Dynamic resource allocation.
			newRule(verbsRead...).groups(resourceGroup).resources("deviceclasses").rule(),
			newRule("get", "list", "watch", "update", "patch").groups(resourceGroup).resources("resourceclaims").rule(),
			newRule("get", "list", "watch", "update", "patch").groups(resourceGroup).resources("resourceclaims/status").rule(),
			newRule("update").groups(legacyGroup).resources("pods/finalizers").rule(),
			newRule(verbsRead...).groups(resourceGroup).resources("resourceslices").rule(),
			newRule("create", "delete").groups(resourceGroup).resources("resourceclaims").rule()),

		clusterRole("system:volume-scheduler",
			newRule("get", "list", "watch", "update", "patch").groups(legacyGroup).resources("persistentvolumes").rule(),
			newRule(verbsRead...).groups(storageGroup).resources("storageclasses").rule(),
			newRule("get", "list", "watch", "update", "patch").groups(legacyGroup).resources("persistentvolumeclaims").rule()),
	}
}

// nodeRules are what a kubelet (a kplane hollow node) needs. Upstream
// narrows most of them per node with the Node authorizer and NodeRestriction
// admission; kplane grants them through RBAC alone.
func nodeRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// API access checks; these creates are non-mutating.
		newRule("create").groups(authenticationGroup).resources("tokenreviews").rule(),
		newRule("create").groups(authorizationGroup).resources("subjectaccessreviews", "localsubjectaccessreviews").rule(),
		// Service environment variables.
		newRule(verbsRead...).groups(legacyGroup).resources("services").rule(),
		// Register Node objects and report status.
		newRule("create", "get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
		newRule("update", "patch").groups(legacyGroup).resources("nodes/status").rule(),
		newRule("update", "patch").groups(legacyGroup).resources("nodes").rule(),
		newRule("create", "update", "patch").groups(legacyGroup, eventsGroup).resources("events").rule(),
		// Pods bound to the node, mirror pods, pod status and evictions.
		newRule(verbsRead...).groups(legacyGroup).resources("pods").rule(),
		newRule("create", "delete").groups(legacyGroup).resources("pods").rule(),
		newRule("update", "patch").groups(legacyGroup).resources("pods/status").rule(),
		newRule("create").groups(legacyGroup).resources("pods/eviction").rule(),
		// Secret and config map volumes and env.
		newRule(verbsRead...).groups(legacyGroup).resources("secrets", "configmaps").rule(),
		newRule("get").groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes").rule(),
		newRule("get").groups(legacyGroup).resources("endpoints").rule(),
		// Client certificate rotation.
		newRule("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests").rule(),
		// Node heartbeats.
		newRule("get", "create", "update", "patch", "delete").groups(coordinationGroup).resources("leases").rule(),
		newRule("get").groups(storageGroup).resources("volumeattachments").rule(),
		// Projected service-account tokens.
		newRule("create").groups(legacyGroup).resources("serviceaccounts/token").rule(),
		newRule("get", "update", "patch").groups(legacyGroup).resources("persistentvolumeclaims/status").rule(),
		newRule("get", "watch", "list").groups(storageGroup).resources("csidrivers").rule(),
		newRule("get", "create", "update", "patch", "delete").groups(storageGroup).resources("csinodes").rule(),
		newRule("get", "list", "watch").groups(nodeGroup).resources("runtimeclasses").rule(),
		newRule("get").groups(resourceGroup).resources("resourceclaims").rule(),
		newRule("deletecollection").groups(resourceGroup).resources("resourceslices").rule(),
		newRule("get").groups(legacyGroup).resources("serviceaccounts").rule(),
	}
}
