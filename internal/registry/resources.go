package registry

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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/apis"
	"kplane/internal/registry/core"
	"kplane/internal/registry/strategy"
)

// Conversions between served and storage versions for the resources served
// in more than one version.
type Conversions struct {
	HPAToV1     func(*autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.HorizontalPodAutoscaler, error)
	HPAFromV1   func(*autoscalingv1.HorizontalPodAutoscaler) (*autoscalingv2.HorizontalPodAutoscaler, error)
	EventToCore func(*eventsv1.Event) (*corev1.Event, error)
	EventFrom   func(*corev1.Event) (*eventsv1.Event, error)
	// ValidateEventsV1 applies events.k8s.io/v1's stricter rules before
	// conversion to the stored core/v1 form.
	ValidateEventsV1 func(*eventsv1.Event) field.ErrorList
}

// All returns every resource kplane serves, with the hooks of its kind.
func All() []*Resource {
	hooks := map[schema.GroupKind]strategy.Funcs{}
	for gk, f := range core.Strategies() {
		hooks[gk] = f
	}
	for gk, f := range apis.Strategies() {
		hooks[gk] = f
	}
	conv := Conversions{
		HPAToV1: apis.HPAToV1, HPAFromV1: apis.HPAFromV1,
		EventToCore: apis.EventToCore, EventFrom: apis.EventFromCore, ValidateEventsV1: apis.ValidateEventsV1,
	}
	return build(hooks, conv)
}

type def struct {
	group, version, resource, kind string
	short                          []string
	categories                     []string
	namespaced                     bool
	path                           string
	newObj, newList                func() runtime.Object
	status, scale, createOnUpdate  bool
	returnDeleted, noGeneration    bool
	subresources                   []string
	verbs                          []string
}

func build(hooks map[schema.GroupKind]strategy.Funcs, conv Conversions) []*Resource {
	all := []string{"all"}
	defs := []def{
		// core/v1
		{"", "v1", "namespaces", "Namespace", []string{"ns"}, nil, false, "namespaces", o(&corev1.Namespace{}), o(&corev1.NamespaceList{}), true, false, false, true, false, []string{"finalize"}, nil},
		{"", "v1", "nodes", "Node", []string{"no"}, nil, false, "minions", o(&corev1.Node{}), o(&corev1.NodeList{}), true, false, false, false, false, nil, nil},
		{"", "v1", "pods", "Pod", []string{"po"}, all, true, "pods", o(&corev1.Pod{}), o(&corev1.PodList{}), true, false, false, true, false, []string{"binding", "eviction"}, nil},
		{"", "v1", "podtemplates", "PodTemplate", nil, nil, true, "podtemplates", o(&corev1.PodTemplate{}), o(&corev1.PodTemplateList{}), false, false, false, false, true, nil, nil},
		{"", "v1", "services", "Service", []string{"svc"}, all, true, "services/specs", o(&corev1.Service{}), o(&corev1.ServiceList{}), true, false, false, true, false, nil, nil},
		{"", "v1", "endpoints", "Endpoints", []string{"ep"}, nil, true, "services/endpoints", o(&corev1.Endpoints{}), o(&corev1.EndpointsList{}), false, false, true, false, true, nil, nil},
		{"", "v1", "configmaps", "ConfigMap", []string{"cm"}, nil, true, "configmaps", o(&corev1.ConfigMap{}), o(&corev1.ConfigMapList{}), false, false, false, false, true, nil, nil},
		{"", "v1", "secrets", "Secret", nil, nil, true, "secrets", o(&corev1.Secret{}), o(&corev1.SecretList{}), false, false, false, false, true, nil, nil},
		{"", "v1", "serviceaccounts", "ServiceAccount", []string{"sa"}, nil, true, "serviceaccounts", o(&corev1.ServiceAccount{}), o(&corev1.ServiceAccountList{}), false, false, false, false, true, []string{"token"}, nil},
		{"", "v1", "events", "Event", []string{"ev"}, nil, true, "events", o(&corev1.Event{}), o(&corev1.EventList{}), false, false, true, false, true, nil, nil},
		{"", "v1", "replicationcontrollers", "ReplicationController", []string{"rc"}, all, true, "controllers", o(&corev1.ReplicationController{}), o(&corev1.ReplicationControllerList{}), true, true, false, false, false, nil, nil},
		{"", "v1", "resourcequotas", "ResourceQuota", []string{"quota"}, nil, true, "resourcequotas", o(&corev1.ResourceQuota{}), o(&corev1.ResourceQuotaList{}), true, false, false, false, true, nil, nil},
		{"", "v1", "limitranges", "LimitRange", []string{"limits"}, nil, true, "limitranges", o(&corev1.LimitRange{}), o(&corev1.LimitRangeList{}), false, false, true, false, true, nil, nil},
		{"", "v1", "persistentvolumes", "PersistentVolume", []string{"pv"}, nil, false, "persistentvolumes", o(&corev1.PersistentVolume{}), o(&corev1.PersistentVolumeList{}), true, false, false, false, false, nil, nil},
		{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", []string{"pvc"}, nil, true, "persistentvolumeclaims", o(&corev1.PersistentVolumeClaim{}), o(&corev1.PersistentVolumeClaimList{}), true, false, false, false, false, nil, nil},
		// apps/v1
		{"apps", "v1", "deployments", "Deployment", []string{"deploy"}, all, true, "deployments", o(&appsv1.Deployment{}), o(&appsv1.DeploymentList{}), true, true, false, false, false, nil, nil},
		{"apps", "v1", "replicasets", "ReplicaSet", []string{"rs"}, all, true, "replicasets", o(&appsv1.ReplicaSet{}), o(&appsv1.ReplicaSetList{}), true, true, false, false, false, nil, nil},
		{"apps", "v1", "statefulsets", "StatefulSet", []string{"sts"}, all, true, "statefulsets", o(&appsv1.StatefulSet{}), o(&appsv1.StatefulSetList{}), true, true, false, false, false, nil, nil},
		{"apps", "v1", "daemonsets", "DaemonSet", []string{"ds"}, all, true, "daemonsets", o(&appsv1.DaemonSet{}), o(&appsv1.DaemonSetList{}), true, false, false, false, false, nil, nil},
		{"apps", "v1", "controllerrevisions", "ControllerRevision", nil, nil, true, "controllerrevisions", o(&appsv1.ControllerRevision{}), o(&appsv1.ControllerRevisionList{}), false, false, false, false, true, nil, nil},
		// batch/v1
		{"batch", "v1", "jobs", "Job", nil, all, true, "jobs", o(&batchv1.Job{}), o(&batchv1.JobList{}), true, false, false, false, false, nil, nil},
		{"batch", "v1", "cronjobs", "CronJob", []string{"cj"}, all, true, "cronjobs", o(&batchv1.CronJob{}), o(&batchv1.CronJobList{}), true, false, false, false, false, nil, nil},
		// autoscaling (stored as v2)
		{"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", []string{"hpa"}, all, true, "horizontalpodautoscalers", o(&autoscalingv2.HorizontalPodAutoscaler{}), o(&autoscalingv2.HorizontalPodAutoscalerList{}), true, false, false, false, false, nil, nil},
		{"autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", []string{"hpa"}, all, true, "horizontalpodautoscalers", o(&autoscalingv1.HorizontalPodAutoscaler{}), o(&autoscalingv1.HorizontalPodAutoscalerList{}), true, false, false, false, false, nil, nil},
		// policy/v1
		{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", []string{"pdb"}, nil, true, "poddisruptionbudgets", o(&policyv1.PodDisruptionBudget{}), o(&policyv1.PodDisruptionBudgetList{}), true, false, false, false, false, nil, nil},
		// coordination.k8s.io/v1
		{"coordination.k8s.io", "v1", "leases", "Lease", nil, nil, true, "leases", o(&coordinationv1.Lease{}), o(&coordinationv1.LeaseList{}), false, false, true, false, true, nil, nil},
		// discovery.k8s.io/v1
		{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", nil, nil, true, "endpointslices", o(&discoveryv1.EndpointSlice{}), o(&discoveryv1.EndpointSliceList{}), false, false, false, false, true, nil, nil},
		// events.k8s.io/v1 (stored as core/v1 events)
		{"events.k8s.io", "v1", "events", "Event", []string{"ev"}, nil, true, "events", o(&eventsv1.Event{}), o(&eventsv1.EventList{}), false, false, true, false, true, nil, nil},
		// networking.k8s.io/v1
		{"networking.k8s.io", "v1", "ingresses", "Ingress", []string{"ing"}, nil, true, "ingress", o(&networkingv1.Ingress{}), o(&networkingv1.IngressList{}), true, false, false, false, false, nil, nil},
		{"networking.k8s.io", "v1", "ingressclasses", "IngressClass", nil, nil, false, "ingressclasses", o(&networkingv1.IngressClass{}), o(&networkingv1.IngressClassList{}), false, false, false, false, false, nil, nil},
		{"networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", []string{"netpol"}, nil, true, "networkpolicies", o(&networkingv1.NetworkPolicy{}), o(&networkingv1.NetworkPolicyList{}), false, false, false, false, false, nil, nil},
		// rbac.authorization.k8s.io/v1
		{"rbac.authorization.k8s.io", "v1", "roles", "Role", nil, nil, true, "roles", o(&rbacv1.Role{}), o(&rbacv1.RoleList{}), false, false, false, false, true, nil, nil},
		{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", nil, nil, true, "rolebindings", o(&rbacv1.RoleBinding{}), o(&rbacv1.RoleBindingList{}), false, false, false, false, true, nil, nil},
		{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", nil, nil, false, "clusterroles", o(&rbacv1.ClusterRole{}), o(&rbacv1.ClusterRoleList{}), false, false, false, false, true, nil, nil},
		{"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", nil, nil, false, "clusterrolebindings", o(&rbacv1.ClusterRoleBinding{}), o(&rbacv1.ClusterRoleBindingList{}), false, false, false, false, true, nil, nil},
		// storage.k8s.io/v1
		{"storage.k8s.io", "v1", "storageclasses", "StorageClass", []string{"sc"}, nil, false, "storageclasses", o(&storagev1.StorageClass{}), o(&storagev1.StorageClassList{}), false, false, false, false, true, nil, nil},
		// scheduling.k8s.io/v1
		{"scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", []string{"pc"}, nil, false, "priorityclasses", o(&schedulingv1.PriorityClass{}), o(&schedulingv1.PriorityClassList{}), false, false, false, false, true, nil, nil},
	}
	out := make([]*Resource, 0, len(defs))
	for _, d := range defs {
		r := &Resource{
			Group: d.group, Version: d.version, Resource: d.resource, Kind: d.kind, ListKind: d.kind + "List",
			Singular: lower(d.kind), ShortNames: d.short, Categories: d.categories, Namespaced: d.namespaced,
			StoragePath: d.path, New: d.newObj, NewList: d.newList, HasStatus: d.status, Scale: d.scale,
			AllowCreateOnUpdate: d.createOnUpdate, ReturnDeletedObject: d.returnDeleted, NoGeneration: d.noGeneration,
			Subresources: d.subresources, Verbs: d.verbs,
			StorageKind: schema.GroupVersionKind{Group: d.group, Version: d.version, Kind: d.kind},
		}
		switch {
		case d.group == "autoscaling" && d.version == "v1":
			r.StorageKind.Version = "v2"
			r.ToStorage = func(obj runtime.Object) (runtime.Object, error) {
				return conv.HPAFromV1(obj.(*autoscalingv1.HorizontalPodAutoscaler))
			}
			r.FromStorage = func(obj runtime.Object) (runtime.Object, error) {
				return conv.HPAToV1(obj.(*autoscalingv2.HorizontalPodAutoscaler))
			}
		case d.group == "events.k8s.io":
			r.StorageKind = schema.GroupVersionKind{Version: "v1", Kind: "Event"}
			r.ToStorage = func(obj runtime.Object) (runtime.Object, error) {
				ev := obj.(*eventsv1.Event)
				if errs := conv.ValidateEventsV1(ev); len(errs) > 0 {
					return nil, apierrors.NewInvalid(schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, ev.Name, errs)
				}
				return conv.EventToCore(ev)
			}
			r.FromStorage = func(obj runtime.Object) (runtime.Object, error) { return conv.EventFrom(obj.(*corev1.Event)) }
		}
		r.Strategy = hooks[schema.GroupKind{Group: r.StorageKind.Group, Kind: r.StorageKind.Kind}]
		r.StatusKeepsAnnotations = d.group == "apps" && d.resource == "deployments"
		out = append(out, r)
	}
	return out
}

// o returns a constructor of fresh copies of zero.
func o(zero runtime.Object) func() runtime.Object {
	return func() runtime.Object { return zero.DeepCopyObject() }
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
