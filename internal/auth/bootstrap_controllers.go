package auth

import (
	rbacv1 "k8s.io/api/rbac/v1"
)

// controllerRoleSpec is one controller's role: the controller's service
// account in kube-system is named after it, and role and binding are named
// system:controller:<name>.
type controllerRoleSpec struct {
	name  string
	rules []rbacv1.PolicyRule
}

// controllerSpecs lists the controllers kplane runs, with upstream's rules
// (controller_policy.go). The service-account token controller has no role
// upstream (it runs with the controller manager's own credentials) and none
// here.
func controllerSpecs() []controllerRoleSpec {
	return []controllerRoleSpec{
		{"cronjob-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "update").groups(batchGroup).resources("cronjobs").rule(),
			newRule("get", "list", "watch", "create", "update", "delete", "patch").groups(batchGroup).resources("jobs").rule(),
			newRule("update").groups(batchGroup).resources("cronjobs/status").rule(),
			newRule("update").groups(batchGroup).resources("cronjobs/finalizers").rule(),
			newRule("list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"daemon-set-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch").groups(extensionsGroup, appsGroup).resources("daemonsets").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("daemonsets/status").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("daemonsets/finalizers").rule(),
			newRule("list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("list", "watch", "create", "delete", "patch").groups(legacyGroup).resources("pods").rule(),
			newRule("create").groups(legacyGroup).resources("pods/binding").rule(),
			newRule("get", "list", "watch", "create", "delete", "update", "patch").groups(appsGroup).resources("controllerrevisions").rule(),
			eventsRule(),
		}},
		{"deployment-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "update").groups(extensionsGroup, appsGroup).resources("deployments").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("deployments/status").rule(),
			newRule("update").groups(extensionsGroup, appsGroup).resources("deployments/finalizers").rule(),
			newRule("get", "list", "watch", "create", "update", "patch", "delete").groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			// get and update are only needed to adopt orphaned pods.
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"disruption-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch").groups(extensionsGroup, appsGroup).resources("deployments").rule(),
			newRule("get", "list", "watch").groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("replicationcontrollers").rule(),
			newRule("get", "list", "watch").groups(policyGroup).resources("poddisruptionbudgets").rule(),
			newRule("get", "list", "watch").groups(appsGroup).resources("statefulsets").rule(),
			newRule("update").groups(policyGroup).resources("poddisruptionbudgets/status").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("pods/status").rule(),
			newRule("get").groups("*").resources("*/scale").rule(),
			eventsRule(),
		}},
		{"endpoint-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "pods").rule(),
			newRule("get", "list", "watch", "create", "update", "delete").groups(legacyGroup).resources("endpoints").rule(),
			newRule("create").groups(legacyGroup).resources("endpoints/restricted").rule(),
			eventsRule(),
		}},
		{"endpointslice-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "pods", "nodes").rule(),
			// Set an owner reference on endpoint slices to their service.
			newRule("update").groups(legacyGroup).resources("services/finalizers").rule(),
			newRule("get", "list", "watch", "create", "update", "delete").groups(discoveryGroup).resources("endpointslices").rule(),
			eventsRule(),
		}},
		{"endpointslicemirroring-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch").groups(legacyGroup).resources("services", "endpoints").rule(),
			newRule("update").groups(legacyGroup).resources("services/finalizers").rule(),
			newRule("update").groups(legacyGroup).resources("endpoints/finalizers").rule(),
			newRule("get", "list", "watch", "create", "update", "delete").groups(discoveryGroup).resources("endpointslices").rule(),
			eventsRule(),
		}},
		{"generic-garbage-collector", []rbacv1.PolicyRule{
			// It reads and deletes everything that has owner references.
			newRule("get", "list", "watch", "patch", "update", "delete").groups("*").resources("*").rule(),
			eventsRule(),
		}},
		{"horizontal-pod-autoscaler", []rbacv1.PolicyRule{
			newRule("get", "list", "watch").groups(autoscalingGroup).resources("horizontalpodautoscalers").rule(),
			newRule("update").groups(autoscalingGroup).resources("horizontalpodautoscalers/status").rule(),
			newRule("get", "update").groups("*").resources("*/scale").rule(),
			newRule("list", "watch").groups(legacyGroup).resources("pods").rule(),
			// Resource metrics API.
			newRule("list", "watch").groups("metrics.k8s.io").resources("pods").rule(),
			// Custom and external metrics APIs.
			newRule("get", "list", "watch").groups("custom.metrics.k8s.io").resources("*").rule(),
			newRule("get", "list", "watch").groups("external.metrics.k8s.io").resources("*").rule(),
			eventsRule(),
		}},
		{"job-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "update", "patch").groups(batchGroup).resources("jobs").rule(),
			newRule("update").groups(batchGroup).resources("jobs/status").rule(),
			newRule("update").groups(batchGroup).resources("jobs/finalizers").rule(),
			newRule("list", "watch", "create", "delete", "patch").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"namespace-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "delete").groups(legacyGroup).resources("namespaces").rule(),
			newRule("update").groups(legacyGroup).resources("namespaces/finalize", "namespaces/status").rule(),
			// It deletes everything in a terminating namespace.
			newRule("get", "list", "watch", "delete", "deletecollection").groups("*").resources("*").rule(),
		}},
		{"node-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "update", "delete", "patch").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch", "update").groups(legacyGroup).resources("nodes/status").rule(),
			// Marks pods NotReady and evicts them from lost nodes.
			newRule("patch", "update").groups(legacyGroup).resources("pods/status").rule(),
			newRule("get", "list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"pod-garbage-collector", []rbacv1.PolicyRule{
			newRule("list", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "list", "watch").groups(legacyGroup).resources("nodes").rule(),
			newRule("patch").groups(legacyGroup).resources("pods/status").rule(),
		}},
		{"replicaset-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "update").groups(appsGroup, extensionsGroup).resources("replicasets").rule(),
			newRule("update").groups(appsGroup, extensionsGroup).resources("replicasets/status").rule(),
			newRule("update").groups(appsGroup, extensionsGroup).resources("replicasets/finalizers").rule(),
			newRule("list", "watch", "patch", "create", "delete").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"replication-controller", []rbacv1.PolicyRule{
			// 1.0 controllers needed get, update, so without these old
			// controllers break on a cluster-up.
			newRule("get", "list", "watch", "update").groups(legacyGroup).resources("replicationcontrollers").rule(),
			newRule("update").groups(legacyGroup).resources("replicationcontrollers/status").rule(),
			newRule("update").groups(legacyGroup).resources("replicationcontrollers/finalizers").rule(),
			newRule("list", "watch", "patch", "create", "delete").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"root-ca-cert-publisher", []rbacv1.PolicyRule{
			// Publishes kube-root-ca.crt into every namespace.
			newRule("create", "update").groups(legacyGroup).resources("configmaps").rule(),
			eventsRule(),
		}},
		{"service-account-controller", []rbacv1.PolicyRule{
			newRule("create").groups(legacyGroup).resources("serviceaccounts").rule(),
			eventsRule(),
		}},
		{"statefulset-controller", []rbacv1.PolicyRule{
			newRule("list", "watch").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "list", "watch").groups(appsGroup).resources("statefulsets").rule(),
			newRule("update").groups(appsGroup).resources("statefulsets/status").rule(),
			newRule("update").groups(appsGroup).resources("statefulsets/finalizers").rule(),
			newRule("get", "create", "delete", "update", "patch").groups(legacyGroup).resources("pods").rule(),
			newRule("get", "create", "delete", "update", "patch", "list", "watch").groups(appsGroup).resources("controllerrevisions").rule(),
			newRule("get", "list", "watch", "create").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			newRule("update", "delete").groups(legacyGroup).resources("persistentvolumeclaims").rule(),
			// Owner references on pods.
			newRule("update").groups(legacyGroup).resources("pods/finalizers").rule(),
			eventsRule(),
		}},
		{"taint-eviction-controller", []rbacv1.PolicyRule{
			// Marks pods with the DisruptionTarget condition and deletes them.
			newRule("patch").groups(legacyGroup).resources("pods/status").rule(),
			newRule("list", "get", "watch", "delete").groups(legacyGroup).resources("pods").rule(),
			eventsRule(),
		}},
		{"ttl-after-finished-controller", []rbacv1.PolicyRule{
			newRule("get", "list", "watch", "delete").groups(batchGroup).resources("jobs").rule(),
			eventsRule(),
		}},
	}
}

func controllerRoles() []*rbacv1.ClusterRole {
	specs := controllerSpecs()
	out := make([]*rbacv1.ClusterRole, 0, len(specs))
	for _, s := range specs {
		out = append(out, clusterRole(controllerRolePrefix+s.name, s.rules...))
	}
	return out
}

func controllerRoleBindings() []*rbacv1.ClusterRoleBinding {
	specs := controllerSpecs()
	out := make([]*rbacv1.ClusterRoleBinding, 0, len(specs))
	for _, s := range specs {
		out = append(out, clusterRoleBinding(controllerRolePrefix+s.name, serviceAccountSubject(systemNamespace, s.name)))
	}
	return out
}
