package replicaset

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/controllers"
)

const (
	// OwnerUIDIndex is the shared index by controller ownerReference UID.
	OwnerUIDIndex = controllers.OwnerUIDIndex
	// OrphanNamespaceIndex indexes pods without a controller by namespace,
	// so a sync looks at adoption candidates without listing every pod of
	// the namespace.
	OrphanNamespaceIndex = "orphanNamespace"
)

// orphanNamespaceIndexFunc returns the namespace of a pod that has no
// controller.
func orphanNamespaceIndexFunc(obj any) ([]string, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || metav1.GetControllerOfNoCopy(pod) != nil {
		return nil, nil
	}
	return []string{pod.Namespace}, nil
}

// addIndexers adds the indexers that are not there yet; another controller
// of the process may have added the shared ones already.
func addIndexers(inf cache.SharedIndexInformer, want cache.Indexers) error {
	have := inf.GetIndexer().GetIndexers()
	missing := cache.Indexers{}
	for name, fn := range want {
		if _, ok := have[name]; !ok {
			missing[name] = fn
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := inf.AddIndexers(missing); err != nil {
		return fmt.Errorf("add indexers: %w", err)
	}
	return nil
}

// podsOf returns the pods of namespace ns controlled by uid, plus, with
// orphans, the pods of ns that have no controller.
func podsOf(idx cache.Indexer, ns string, uid string, orphans bool) ([]*corev1.Pod, error) {
	owned, err := idx.ByIndex(OwnerUIDIndex, uid)
	if err != nil {
		return nil, fmt.Errorf("pods by owner %s: %w", uid, err)
	}
	var free []any
	if orphans {
		if free, err = idx.ByIndex(OrphanNamespaceIndex, ns); err != nil {
			return nil, fmt.Errorf("orphan pods in %s: %w", ns, err)
		}
	}
	out := make([]*corev1.Pod, 0, len(owned)+len(free))
	for _, list := range [][]any{owned, free} {
		for _, o := range list {
			if p, ok := o.(*corev1.Pod); ok && p.Namespace == ns {
				out = append(out, p)
			}
		}
	}
	return out, nil
}
