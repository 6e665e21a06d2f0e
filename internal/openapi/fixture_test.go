package openapi

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// res is a fixture builder for a Resource with every verb.
func res(group, version, kind, plural string, namespaced bool, obj, list runtime.Object, subs ...Subresource) Resource {
	return Resource{
		GVK:          schema.GroupVersionKind{Group: group, Version: version, Kind: kind},
		ListKind:     kind + "List",
		Resource:     plural,
		Namespaced:   namespaced,
		Verbs:        allVerbs,
		Subresources: subs,
		Object:       obj,
		List:         list,
	}
}

func status(group, version, kind string, obj runtime.Object) Subresource {
	return Subresource{Name: "status", GVK: schema.GroupVersionKind{Group: group, Version: version, Kind: kind}, Verbs: []string{"get", "update", "patch"}, Object: obj}
}

func scale() Subresource {
	return Subresource{Name: "scale", GVK: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, Verbs: []string{"get", "update", "patch"}, Object: &autoscalingv1.Scale{}}
}

// testResources is roughly the resource list the API server passes to Build.
func testResources() []Resource {
	return []Resource{
		res("", "v1", "Pod", "pods", true, &corev1.Pod{}, &corev1.PodList{},
			status("", "v1", "Pod", &corev1.Pod{}),
			Subresource{Name: "binding", GVK: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, Verbs: []string{"create"}, Object: &corev1.Binding{}},
			Subresource{Name: "eviction", GVK: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}, Verbs: []string{"create"}, Object: &policyv1.Eviction{}}),
		res("", "v1", "Node", "nodes", false, &corev1.Node{}, &corev1.NodeList{}, status("", "v1", "Node", &corev1.Node{})),
		res("", "v1", "Namespace", "namespaces", false, &corev1.Namespace{}, &corev1.NamespaceList{}, status("", "v1", "Namespace", &corev1.Namespace{})),
		res("", "v1", "Service", "services", true, &corev1.Service{}, &corev1.ServiceList{}, status("", "v1", "Service", &corev1.Service{})),
		res("", "v1", "Endpoints", "endpoints", true, &corev1.Endpoints{}, &corev1.EndpointsList{}),
		res("", "v1", "ConfigMap", "configmaps", true, &corev1.ConfigMap{}, &corev1.ConfigMapList{}),
		res("", "v1", "Secret", "secrets", true, &corev1.Secret{}, &corev1.SecretList{}),
		res("", "v1", "ServiceAccount", "serviceaccounts", true, &corev1.ServiceAccount{}, &corev1.ServiceAccountList{}),
		res("", "v1", "Event", "events", true, &corev1.Event{}, &corev1.EventList{}),
		res("", "v1", "ReplicationController", "replicationcontrollers", true, &corev1.ReplicationController{}, &corev1.ReplicationControllerList{},
			status("", "v1", "ReplicationController", &corev1.ReplicationController{}), scale()),
		res("", "v1", "PersistentVolume", "persistentvolumes", false, &corev1.PersistentVolume{}, &corev1.PersistentVolumeList{}, status("", "v1", "PersistentVolume", &corev1.PersistentVolume{})),
		res("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &corev1.PersistentVolumeClaim{}, &corev1.PersistentVolumeClaimList{}, status("", "v1", "PersistentVolumeClaim", &corev1.PersistentVolumeClaim{})),
		res("", "v1", "LimitRange", "limitranges", true, &corev1.LimitRange{}, &corev1.LimitRangeList{}),
		res("", "v1", "ResourceQuota", "resourcequotas", true, &corev1.ResourceQuota{}, &corev1.ResourceQuotaList{}, status("", "v1", "ResourceQuota", &corev1.ResourceQuota{})),
		res("", "v1", "PodTemplate", "podtemplates", true, &corev1.PodTemplate{}, &corev1.PodTemplateList{}),
		res("apps", "v1", "Deployment", "deployments", true, &appsv1.Deployment{}, &appsv1.DeploymentList{}, status("apps", "v1", "Deployment", &appsv1.Deployment{}), scale()),
		res("apps", "v1", "ReplicaSet", "replicasets", true, &appsv1.ReplicaSet{}, &appsv1.ReplicaSetList{}, status("apps", "v1", "ReplicaSet", &appsv1.ReplicaSet{}), scale()),
		res("apps", "v1", "StatefulSet", "statefulsets", true, &appsv1.StatefulSet{}, &appsv1.StatefulSetList{}, status("apps", "v1", "StatefulSet", &appsv1.StatefulSet{}), scale()),
		res("apps", "v1", "DaemonSet", "daemonsets", true, &appsv1.DaemonSet{}, &appsv1.DaemonSetList{}, status("apps", "v1", "DaemonSet", &appsv1.DaemonSet{})),
		res("apps", "v1", "ControllerRevision", "controllerrevisions", true, &appsv1.ControllerRevision{}, &appsv1.ControllerRevisionList{}),
		res("batch", "v1", "Job", "jobs", true, &batchv1.Job{}, &batchv1.JobList{}, status("batch", "v1", "Job", &batchv1.Job{})),
		res("batch", "v1", "CronJob", "cronjobs", true, &batchv1.CronJob{}, &batchv1.CronJobList{}, status("batch", "v1", "CronJob", &batchv1.CronJob{})),
		res("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &autoscalingv1.HorizontalPodAutoscaler{}, &autoscalingv1.HorizontalPodAutoscalerList{}, status("autoscaling", "v1", "HorizontalPodAutoscaler", &autoscalingv1.HorizontalPodAutoscaler{})),
		res("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &autoscalingv2.HorizontalPodAutoscaler{}, &autoscalingv2.HorizontalPodAutoscalerList{}, status("autoscaling", "v2", "HorizontalPodAutoscaler", &autoscalingv2.HorizontalPodAutoscaler{})),
		res("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &policyv1.PodDisruptionBudget{}, &policyv1.PodDisruptionBudgetList{}, status("policy", "v1", "PodDisruptionBudget", &policyv1.PodDisruptionBudget{})),
		res("coordination.k8s.io", "v1", "Lease", "leases", true, &coordinationv1.Lease{}, &coordinationv1.LeaseList{}),
		res("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, &discoveryv1.EndpointSlice{}, &discoveryv1.EndpointSliceList{}),
		res("events.k8s.io", "v1", "Event", "events", true, &eventsv1.Event{}, &eventsv1.EventList{}),
		res("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, &networkingv1.NetworkPolicy{}, &networkingv1.NetworkPolicyList{}),
		res("networking.k8s.io", "v1", "Ingress", "ingresses", true, &networkingv1.Ingress{}, &networkingv1.IngressList{}, status("networking.k8s.io", "v1", "Ingress", &networkingv1.Ingress{})),
		res("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, &networkingv1.IngressClass{}, &networkingv1.IngressClassList{}),
		res("rbac.authorization.k8s.io", "v1", "Role", "roles", true, &rbacv1.Role{}, &rbacv1.RoleList{}),
		res("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true, &rbacv1.RoleBinding{}, &rbacv1.RoleBindingList{}),
		res("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false, &rbacv1.ClusterRole{}, &rbacv1.ClusterRoleList{}),
		res("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false, &rbacv1.ClusterRoleBinding{}, &rbacv1.ClusterRoleBindingList{}),
		res("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, &storagev1.StorageClass{}, &storagev1.StorageClassList{}),
		res("storage.k8s.io", "v1", "CSIDriver", "csidrivers", false, &storagev1.CSIDriver{}, &storagev1.CSIDriverList{}),
		res("storage.k8s.io", "v1", "CSINode", "csinodes", false, &storagev1.CSINode{}, &storagev1.CSINodeList{}),
		res("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", false, &storagev1.VolumeAttachment{}, &storagev1.VolumeAttachmentList{}, status("storage.k8s.io", "v1", "VolumeAttachment", &storagev1.VolumeAttachment{})),
		res("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities", true, &storagev1.CSIStorageCapacity{}, &storagev1.CSIStorageCapacityList{}),
		res("networking.k8s.io", "v1", "IPAddress", "ipaddresses", false, &networkingv1.IPAddress{}, &networkingv1.IPAddressList{}),
		res("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs", false, &networkingv1.ServiceCIDR{}, &networkingv1.ServiceCIDRList{}, status("networking.k8s.io", "v1", "ServiceCIDR", &networkingv1.ServiceCIDR{})),
		res("storage.k8s.io", "v1", "VolumeAttributesClass", "volumeattributesclasses", false, &storagev1.VolumeAttributesClass{}, &storagev1.VolumeAttributesClassList{}),
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ComponentStatus"}, ListKind: "ComponentStatusList", Resource: "componentstatuses", Verbs: []string{"get", "list"},
			Object: &corev1.ComponentStatus{}, List: &corev1.ComponentStatusList{}},
		{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}, Resource: "bindings", Namespaced: true, Verbs: []string{"create"}, Object: &corev1.Binding{}},
		res("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", false, &schedulingv1.PriorityClass{}, &schedulingv1.PriorityClassList{}),
	}
}
