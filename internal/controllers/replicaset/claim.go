package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// claimer decides, pod by pod, which pods a controller owns, adopting
// matching orphans and releasing owned pods that stopped matching
// (upstream's PodControllerRefManager.ClaimPods).
type claimer struct {
	pods     *podControl
	owner    *appsv1.ReplicaSet
	ref      metav1.OwnerReference
	selector labels.Selector
	// fresh re-reads the owner from the API server, uncached.
	fresh func(ctx context.Context) (*appsv1.ReplicaSet, error)

	once     sync.Once
	adoptErr error
}

// canAdopt checks once, with a quorum read, that the owner is still the
// same object and not being deleted: the cache may be stale, and adopting
// into a deleted owner would get the pods garbage-collected.
func (c *claimer) canAdopt(ctx context.Context) error {
	c.once.Do(func() {
		fresh, err := c.fresh(ctx)
		if err != nil {
			c.adoptErr = err
			return
		}
		if fresh.UID != c.owner.UID {
			c.adoptErr = fmt.Errorf("original %v %v/%v is gone: got uid %v, wanted %v",
				c.ref.Kind, c.owner.Namespace, c.owner.Name, fresh.UID, c.owner.UID)
			return
		}
		if fresh.DeletionTimestamp != nil {
			c.adoptErr = fmt.Errorf("%v/%v has just been deleted at %v",
				c.owner.Namespace, c.owner.Name, fresh.DeletionTimestamp)
		}
	})
	return c.adoptErr
}

// claim returns the pods the owner controls after adoption and release.
func (c *claimer) claim(ctx context.Context, pods []*corev1.Pod) ([]*corev1.Pod, error) {
	var claimed []*corev1.Pod
	var errs []error
	for _, pod := range pods {
		ok, err := c.claimOne(ctx, pod)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			claimed = append(claimed, pod)
		}
	}
	return claimed, errors.Join(errs...)
}

func (c *claimer) claimOne(ctx context.Context, pod *corev1.Pod) (bool, error) {
	matches := c.selector.Matches(labels.Set(pod.Labels))
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		if ref.UID != c.owner.UID {
			return false, nil // someone else's
		}
		if matches {
			return true, nil
		}
		if c.owner.DeletionTimestamp != nil {
			return false, nil // the garbage collector handles it
		}
		if err := c.release(ctx, pod); err != nil {
			return false, err
		}
		return false, nil
	}
	if c.owner.DeletionTimestamp != nil || !matches || pod.DeletionTimestamp != nil || pod.Namespace != c.owner.Namespace {
		return false, nil
	}
	if err := c.adopt(ctx, pod); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (c *claimer) adopt(ctx context.Context, pod *corev1.Pod) error {
	if err := c.canAdopt(ctx); err != nil {
		return fmt.Errorf("can't adopt Pod %v/%v (%v): %w", pod.Namespace, pod.Name, pod.UID, err)
	}
	data, err := adoptPatch(c.ref, pod.UID)
	if err != nil {
		return fmt.Errorf("adopt pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return c.pods.patch(ctx, pod.Namespace, pod.Name, data)
}

// release drops the owner's reference. A pod that is gone, or was
// replaced, or already lost the reference (Invalid), needs nothing.
func (c *claimer) release(ctx context.Context, pod *corev1.Pod) error {
	data, err := releasePatch(c.owner.UID, pod.UID)
	if err != nil {
		return fmt.Errorf("release pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	err = c.pods.patch(ctx, pod.Namespace, pod.Name, data)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) {
		return err
	}
	return nil
}
