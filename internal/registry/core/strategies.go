package core

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/registry/strategy"
)

// Strategies returns the hooks for every core/v1 kind this package covers,
// keyed by GroupKind{Group: "", Kind: ...}. A fresh map is returned on every
// call so callers may add to it.
func Strategies() map[schema.GroupKind]strategy.Funcs {
	gk := func(kind string) schema.GroupKind { return schema.GroupKind{Group: "", Kind: kind} }
	return map[schema.GroupKind]strategy.Funcs{
		gk("Pod"):                   podStrategy(),
		gk("PodTemplate"):           podTemplateStrategy(),
		gk("ReplicationController"): replicationControllerStrategy(),
		gk("Service"):               serviceStrategy(),
		gk("Endpoints"):             endpointsStrategy(),
		gk("Node"):                  nodeStrategy(),
		gk("Namespace"):             namespaceStrategy(),
		gk("ConfigMap"):             configMapStrategy(),
		gk("Secret"):                secretStrategy(),
		gk("ServiceAccount"):        serviceAccountStrategy(),
		gk("Event"):                 eventStrategy(),
		gk("ResourceQuota"):         resourceQuotaStrategy(),
		gk("LimitRange"):            limitRangeStrategy(),
		gk("PersistentVolume"):      persistentVolumeStrategy(),
		gk("PersistentVolumeClaim"): persistentVolumeClaimStrategy(),
	}
}
