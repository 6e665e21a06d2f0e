package garbagecollector

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/retry"
)

// attemptToDeleteItem decides the fate of one node: a virtual owner is
// verified, an owner deleting in the foreground waits for or finishes with
// its dependents, and an object with no remaining owner is deleted.
func (gc *GarbageCollector) attemptToDeleteItem(ctx context.Context, uid types.UID) error {
	item, ok := gc.graph.snapshot(uid)
	if !ok {
		return nil
	}
	if !item.virtual && item.beingDeleted && !item.deletingDependents {
		return nil
	}
	res, err := gc.resource(item.identity)
	if err != nil {
		return err
	}
	latest, err := res.Get(ctx, item.identity.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		gc.absent.add(uid)
		gc.virtualDeleted(item.identity)
		return nil
	case err != nil:
		return wrapf(err, "get %s %s/%s", item.identity.Kind, item.identity.Namespace, item.identity.Name)
	}
	if latest.UID != uid {
		// Same name, different object: the one referred to is gone.
		gc.absent.add(uid)
		gc.virtualDeleted(item.identity)
		return nil
	}
	if item.virtual {
		// It exists but the graph has not seen it yet (informer lag, or
		// a resource discovered later); look again shortly.
		return errRequeue
	}
	if item.deletingDependents {
		return gc.processDeletingDependents(ctx, item)
	}
	refs := latest.OwnerReferences
	if len(refs) == 0 {
		return nil
	}
	solid, dangling, waiting, err := gc.classify(ctx, item.identity, refs)
	if err != nil {
		return err
	}
	switch {
	case len(solid) > 0:
		if len(dangling) == 0 && len(waiting) == 0 {
			return nil
		}
		// Keep the object; drop references to owners that are gone or
		// deleting in the foreground (they must not wait for it).
		drop := map[types.UID]bool{}
		for _, r := range append(dangling, waiting...) {
			drop[r.UID] = true
		}
		return gc.editOwnerRefs(ctx, item.identity, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
			return slices.DeleteFunc(refs, func(r metav1.OwnerReference) bool { return drop[r.UID] })
		})
	case len(waiting) > 0 && len(item.dependents) > 0:
		// An owner waits for this object, which has dependents of its
		// own: delete it in the foreground too. A dependent already
		// deleting in the foreground could wait for us in a cycle, so
		// stop blocking on the waiting owners first.
		for _, d := range item.dependents {
			if d.deletingDependents {
				waitingUIDs := map[types.UID]bool{}
				for _, r := range waiting {
					waitingUIDs[r.UID] = true
				}
				if err := gc.editOwnerRefs(ctx, item.identity, func(refs []metav1.OwnerReference) []metav1.OwnerReference {
					for i := range refs {
						if waitingUIDs[refs[i].UID] {
							refs[i].BlockOwnerDeletion = new(bool)
						}
					}
					return refs
				}); err != nil {
					return err
				}
				break
			}
		}
		return gc.deleteObject(ctx, item.identity, latest.ResourceVersion, metav1.DeletePropagationForeground)
	default:
		policy := metav1.DeletePropagationBackground
		switch {
		case slices.Contains(latest.Finalizers, metav1.FinalizerOrphanDependents):
			policy = metav1.DeletePropagationOrphan
		case slices.Contains(latest.Finalizers, metav1.FinalizerDeleteDependents):
			policy = metav1.DeletePropagationForeground
		}
		gc.log.Debug("deleting object whose owners are gone", "kind", item.identity.Kind,
			"namespace", item.identity.Namespace, "name", item.identity.Name, "propagation", policy)
		return gc.deleteObject(ctx, item.identity, latest.ResourceVersion, policy)
	}
}

// processDeletingDependents finishes a foreground deletion once no
// dependent blocks it, and otherwise makes sure blocking dependents are
// being deleted.
func (gc *GarbageCollector) processDeletingDependents(ctx context.Context, item snapshot) error {
	blocking := 0
	for _, d := range item.dependents {
		if !d.blockOwnerDeletion {
			continue
		}
		blocking++
		if !d.beingDeleted {
			gc.toDelete.Add(d.identity.UID)
		}
	}
	if blocking > 0 {
		return nil
	}
	return gc.removeFinalizer(ctx, item.identity, metav1.FinalizerDeleteDependents)
}

// classify sorts an object's owner references: solid (the owner exists),
// dangling (absent, or a different object by that name) and waiting (the
// owner is being deleted in the foreground).
func (gc *GarbageCollector) classify(ctx context.Context, item objectRef, refs []metav1.OwnerReference) (solid, dangling, waiting []metav1.OwnerReference, err error) {
	for _, ref := range refs {
		if gc.absent.has(ref.UID) {
			dangling = append(dangling, ref)
			continue
		}
		owner := objectRef{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name, UID: ref.UID, Namespace: item.Namespace}
		m, ok := gc.mapper.lookup(owner.groupKind())
		if !ok {
			return nil, nil, nil, fmt.Errorf("owner %s %q of %s %s/%s: kind is not served", ref.Kind, ref.Name, item.Kind, item.Namespace, item.Name)
		}
		if !m.namespaced {
			owner.Namespace = ""
		} else if item.Namespace == "" {
			// A cluster-scoped object cannot have a namespaced owner.
			dangling = append(dangling, ref)
			continue
		}
		obj, gerr := gc.writer.Resource(m.gvr).Namespace(owner.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(gerr):
			gc.absent.add(ref.UID)
			dangling = append(dangling, ref)
		case gerr != nil:
			return nil, nil, nil, wrapf(gerr, "get owner %s %s/%s", ref.Kind, owner.Namespace, ref.Name)
		case obj.UID != ref.UID:
			gc.absent.add(ref.UID)
			dangling = append(dangling, ref)
		case obj.DeletionTimestamp != nil && slices.Contains(obj.Finalizers, metav1.FinalizerDeleteDependents):
			waiting = append(waiting, ref)
		default:
			solid = append(solid, ref)
		}
	}
	return solid, dangling, waiting, nil
}

// resource returns the metadata client for an object's resource and
// namespace.
func (gc *GarbageCollector) resource(id objectRef) (metadata.ResourceInterface, error) {
	m, ok := gc.mapper.lookup(id.groupKind())
	if !ok {
		return nil, fmt.Errorf("%s %s/%s: kind %s is not served", id.Kind, id.Namespace, id.Name, id.APIVersion)
	}
	ns := id.Namespace
	if !m.namespaced {
		ns = ""
	}
	return gc.writer.Resource(m.gvr).Namespace(ns), nil
}

// deleteObject deletes with UID and resourceVersion preconditions, so a
// changed or replaced object is looked at again rather than deleted.
func (gc *GarbageCollector) deleteObject(ctx context.Context, id objectRef, rv string, policy metav1.DeletionPropagation) error {
	res, err := gc.resource(id)
	if err != nil {
		return err
	}
	uid := id.UID
	err = res.Delete(ctx, id.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		PropagationPolicy: &policy,
	})
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return errRequeue
	}
	return wrapf(err, "delete %s %s/%s", id.Kind, id.Namespace, id.Name)
}

// metaPatch is a JSON merge patch of the metadata fields the collector
// changes, with the resourceVersion (and UID) it read as preconditions.
type metaPatch struct {
	Metadata struct {
		ResourceVersion string                   `json:"resourceVersion"`
		UID             types.UID                `json:"uid"`
		OwnerReferences *[]metav1.OwnerReference `json:"ownerReferences,omitempty"`
		Finalizers      *[]string                `json:"finalizers,omitempty"`
	} `json:"metadata"`
}

// editOwnerRefs rewrites an object's ownerReferences with edit, retrying
// on conflicts; a missing object needs no edit.
func (gc *GarbageCollector) editOwnerRefs(ctx context.Context, id objectRef, edit func([]metav1.OwnerReference) []metav1.OwnerReference) error {
	res, err := gc.resource(id)
	if err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		obj, err := res.Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && obj.UID != id.UID) {
			return nil
		}
		if err != nil {
			return wrapf(err, "get %s %s/%s", id.Kind, id.Namespace, id.Name)
		}
		before := slices.Clone(obj.OwnerReferences)
		after := edit(slices.Clone(obj.OwnerReferences))
		if equalRefs(before, after) {
			return nil
		}
		var p metaPatch
		p.Metadata.ResourceVersion, p.Metadata.UID = obj.ResourceVersion, obj.UID
		if after == nil {
			after = []metav1.OwnerReference{}
		}
		p.Metadata.OwnerReferences = &after
		return gc.patch(ctx, res, id, p)
	})
}

// removeFinalizer removes one of the collector's finalizers, after which
// the API server finishes the deletion.
func (gc *GarbageCollector) removeFinalizer(ctx context.Context, id objectRef, finalizer string) error {
	res, err := gc.resource(id)
	if err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		obj, err := res.Get(ctx, id.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && obj.UID != id.UID) {
			return nil
		}
		if err != nil {
			return wrapf(err, "get %s %s/%s", id.Kind, id.Namespace, id.Name)
		}
		if !slices.Contains(obj.Finalizers, finalizer) {
			return nil
		}
		fins := slices.DeleteFunc(slices.Clone(obj.Finalizers), func(f string) bool { return f == finalizer })
		var p metaPatch
		p.Metadata.ResourceVersion, p.Metadata.UID = obj.ResourceVersion, obj.UID
		p.Metadata.Finalizers = &fins
		return gc.patch(ctx, res, id, p)
	})
}

func (gc *GarbageCollector) patch(ctx context.Context, res metadata.ResourceInterface, id objectRef, p metaPatch) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	_, err = res.Patch(ctx, id.Name, types.MergePatchType, body, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil && !apierrors.IsConflict(err) {
		return wrapf(err, "patch %s %s/%s", id.Kind, id.Namespace, id.Name)
	}
	return err // conflicts are retried by the caller
}

func equalRefs(a, b []metav1.OwnerReference) bool {
	return slices.EqualFunc(a, b, func(x, y metav1.OwnerReference) bool {
		return x.UID == y.UID && blocks(x) == blocks(y)
	})
}
