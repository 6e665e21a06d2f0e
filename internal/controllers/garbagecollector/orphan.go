package garbagecollector

import (
	"context"
	"errors"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// orphanDependents carries out orphan deletion of the owner with uid:
// every dependent loses its ownerReference to the owner, then the owner
// loses the orphan finalizer and the API server deletes it.
func (gc *GarbageCollector) orphanDependents(ctx context.Context, uid types.UID) error {
	owner, ok := gc.graph.snapshot(uid)
	if !ok || owner.virtual {
		return nil
	}
	res, err := gc.resource(owner.identity)
	if err != nil {
		return err
	}
	latest, err := res.Get(ctx, owner.identity.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && latest.UID != uid) {
		return nil
	}
	if err != nil {
		return wrapf(err, "get %s %s/%s", owner.identity.Kind, owner.identity.Namespace, owner.identity.Name)
	}
	if latest.DeletionTimestamp == nil || !slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents) {
		return nil
	}
	var errs []error
	for _, d := range owner.dependents {
		err := gc.editOwnerRefs(ctx, d.identity, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
			return slices.DeleteFunc(refs, func(r metav1.OwnerReference) bool { return r.UID == uid })
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return gc.removeFinalizer(ctx, owner.identity, metav1.FinalizerOrphanDependents)
}
