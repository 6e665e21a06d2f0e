package deployment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// replicaSetsForDeployment returns the ReplicaSets d controls after
// reconciling ownership as upstream's ClaimReplicaSets: ReplicaSets it
// owns that no longer match its selector are released, orphans that match
// are adopted (after a live read proves d is not being deleted).
//
// Only d's own ReplicaSets and the namespace's orphans are examined (via
// informer indexes), not every ReplicaSet of the namespace.
func (c *Controller) replicaSetsForDeployment(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s has invalid label selector: %w", d.Namespace, d.Name, err)
	}
	owned, err := c.ownedReplicaSets(d)
	if err != nil {
		return nil, err
	}
	orphans, err := c.rsIndex.ByIndex(orphanIndex, d.Namespace)
	if err != nil {
		return nil, fmt.Errorf("list orphaned replica sets in %s: %w", d.Namespace, err)
	}

	var (
		claimed  []*appsv1.ReplicaSet
		errs     []error
		once     sync.Once
		adoptErr error
	)
	canAdopt := func() error {
		once.Do(func() {
			fresh, err := c.client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			switch {
			case err != nil:
				adoptErr = fmt.Errorf("recheck deployment %s/%s before adoption: %w", d.Namespace, d.Name, err)
			case fresh.UID != d.UID:
				adoptErr = fmt.Errorf("original Deployment %v/%v is gone: got uid %v, wanted %v", d.Namespace, d.Name, fresh.UID, d.UID)
			case fresh.DeletionTimestamp != nil:
				adoptErr = fmt.Errorf("%v/%v has just been deleted at %v", d.Namespace, d.Name, fresh.DeletionTimestamp)
			}
		})
		return adoptErr
	}

	for _, rs := range owned {
		if sel.Matches(labels.Set(rs.Labels)) {
			claimed = append(claimed, rs)
			continue
		}
		if d.DeletionTimestamp != nil {
			continue
		}
		if err := c.releaseReplicaSet(ctx, d, rs); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	for _, o := range orphans {
		rs, ok := o.(*appsv1.ReplicaSet)
		if !ok || metav1.GetControllerOfNoCopy(rs) != nil {
			continue
		}
		if d.DeletionTimestamp != nil || !sel.Matches(labels.Set(rs.Labels)) || rs.DeletionTimestamp != nil {
			continue
		}
		if err := canAdopt(); err != nil {
			errs = append(errs, fmt.Errorf("can't adopt ReplicaSet %v/%v (%v): %w", rs.Namespace, rs.Name, rs.UID, err))
			continue
		}
		adopted, err := c.adoptReplicaSet(ctx, d, rs)
		if err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		claimed = append(claimed, adopted)
	}
	return claimed, errors.Join(errs...)
}

// ownerPatch is the strategic-merge patch upstream's controller ref
// manager sends; the uid makes it fail if the object was replaced.
type ownerPatch struct {
	Metadata struct {
		OwnerReferences []map[string]any `json:"ownerReferences"`
		UID             types.UID        `json:"uid"`
	} `json:"metadata"`
}

func (c *Controller) adoptReplicaSet(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	var p ownerPatch
	p.Metadata.UID = rs.UID
	p.Metadata.OwnerReferences = []map[string]any{{
		"apiVersion": controllerKind.GroupVersion().String(), "kind": controllerKind.Kind,
		"name": d.Name, "uid": d.UID, "controller": true, "blockOwnerDeletion": true,
	}}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("adopt patch: %w", err)
	}
	out, err := c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("adopt ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return out, nil
}

func (c *Controller) releaseReplicaSet(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet) error {
	var p ownerPatch
	p.Metadata.UID = rs.UID
	p.Metadata.OwnerReferences = []map[string]any{{"$patch": "delete", "uid": d.UID}}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("release patch: %w", err)
	}
	_, err = c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{})
	if err != nil && apierrors.IsInvalid(err) {
		// The ReplicaSet's uid changed: it is not ours any more.
		return nil
	}
	if err != nil {
		return fmt.Errorf("release ReplicaSet %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return nil
}
