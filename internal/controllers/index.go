package controllers

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// OwnerUIDIndex indexes objects (pods, ReplicaSets) by the UID of their
// controller ownerReference. The index lives on the process's shared
// informers, so every workload controller adds it through AddOwnerUIDIndex
// and the first one wins.
const OwnerUIDIndex = "ownerUID"

// OwnerUIDIndexFunc returns the controller ownerReference UID of obj.
func OwnerUIDIndexFunc(obj any) ([]string, error) {
	m, err := MetaOf(obj)
	if err != nil {
		return nil, err
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

// AddOwnerUIDIndex adds OwnerUIDIndex to inf unless another controller
// already did; call it before the informers start.
func AddOwnerUIDIndex(inf cache.SharedIndexInformer) error {
	if _, ok := inf.GetIndexer().GetIndexers()[OwnerUIDIndex]; ok {
		return nil
	}
	if err := inf.AddIndexers(cache.Indexers{OwnerUIDIndex: OwnerUIDIndexFunc}); err != nil {
		return fmt.Errorf("add %s index: %w", OwnerUIDIndex, err)
	}
	return nil
}

// MetaOf returns the metadata of an informer object, unwrapping the
// DeletedFinalStateUnknown tombstone a delete handler may receive.
func MetaOf(obj any) (metav1.Object, error) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("object %T has no metadata", obj)
	}
	return m, nil
}
