package replicaset

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
)

// sync reconciles one owner: claim its pods, create or delete pods if its
// expectations are met, and write its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return fmt.Errorf("bad key %q: %w", key, err)
	}
	rs, err := c.kind.get(ns, name)
	if apierrors.IsNotFound(err) {
		c.exp.forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	needsSync := c.exp.satisfied(key)
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		c.log.Error("invalid selector", "key", key, "err", err)
		return nil
	}
	all, err := podsOf(c.podIndexer, ns, string(rs.UID), true)
	if err != nil {
		return err
	}
	var active, terminatingPods []*corev1.Pod
	for _, p := range all {
		switch {
		case isPodActive(p):
			active = append(active, p)
		case isPodTerminating(p):
			terminatingPods = append(terminatingPods, p)
		}
	}
	cl := &claimer{
		pods: c.pods, owner: rs, ref: *metav1.NewControllerRef(rs, c.kind.gvk()), selector: selector,
		fresh: func(ctx context.Context) (*appsv1.ReplicaSet, error) { return c.kind.getFresh(ctx, ns, name) },
	}
	active, err = cl.claim(ctx, active)
	if err != nil {
		return err
	}
	var terminating *int32
	if c.kind.terminatingReplicas() {
		n := int32(0)
		for _, p := range terminatingPods {
			if ref := metav1.GetControllerOfNoCopy(p); ref != nil && ref.UID == rs.UID && selector.Matches(labels.Set(p.Labels)) {
				n++
			}
		}
		terminating = &n
	}

	var manageErr error
	if needsSync && rs.DeletionTimestamp == nil {
		manageErr = c.manageReplicas(ctx, key, active, rs)
	}
	st := calculateStatus(rs, active, terminating, manageErr, c.clock.Now())
	updated, err := c.updateStatus(ctx, rs, st)
	if err != nil {
		return err
	}
	// Resync after minReadySeconds as a last line of defence against
	// clock skew.
	if manageErr == nil && updated.Spec.MinReadySeconds > 0 &&
		updated.Status.ReadyReplicas == replicas(updated) && updated.Status.AvailableReplicas != replicas(updated) {
		c.queue.AddAfter(key, time.Duration(updated.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

// ref is the object reference events are recorded against.
func (c *Controller) ref(rs *appsv1.ReplicaSet) *corev1.ObjectReference {
	gvk := c.kind.gvk()
	return &corev1.ObjectReference{
		Kind: gvk.Kind, APIVersion: gvk.GroupVersion().String(),
		Namespace: rs.Namespace, Name: rs.Name, UID: rs.UID, ResourceVersion: rs.ResourceVersion,
	}
}

// manageReplicas creates or deletes up to burst pods to reach
// spec.replicas. It does not modify active.
func (c *Controller) manageReplicas(ctx context.Context, key string, active []*corev1.Pod, rs *appsv1.ReplicaSet) error {
	diff := len(active) - int(replicas(rs))
	obj := c.ref(rs)
	switch {
	case diff < 0:
		n := min(-diff, c.burst)
		// Expect them all before the first create, so that the
		// informer's creation events can never run ahead of the record.
		c.exp.expectCreations(key, n)
		ownerRef := metav1.NewControllerRef(rs, c.kind.gvk())
		created, err := slowStartBatch(n, slowStartInitialBatchSize, func() error {
			err := c.pods.create(ctx, obj, &rs.Spec.Template, ownerRef)
			if err != nil && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // every create would fail; nothing to retry
			}
			return err
		})
		// Pods never attempted will not be observed.
		for range n - created {
			c.exp.creationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, c.burst)
		related, err := c.relatedPods(rs)
		if err != nil {
			c.log.Error("related pods", "key", key, "err", err)
		}
		victims := podsToDelete(active, related, n, c.clock.Now())
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = objKey(p.Namespace, p.Name)
		}
		c.exp.expectDeletions(key, keys)
		errs := make([]error, len(victims))
		var wg sync.WaitGroup
		for i, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.pods.delete(ctx, obj, p.Name); err != nil {
					// Not deleted by us: the informer won't report it.
					c.exp.deletionObserved(key, keys[i])
					if !apierrors.IsNotFound(err) {
						errs[i] = err
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err // all alike; upstream returns the first
			}
		}
	}
	return nil
}

// relatedPods returns the pods of every owner that shares rs's controller
// (the ReplicaSets of one Deployment), to rank pods by node crowding.
func (c *Controller) relatedPods(rs *appsv1.ReplicaSet) ([]*corev1.Pod, error) {
	ref := metav1.GetControllerOfNoCopy(rs)
	if ref == nil {
		return nil, nil
	}
	siblings, err := c.ownerIndexer.ByIndex(OwnerUIDIndex, string(ref.UID))
	if err != nil {
		return nil, fmt.Errorf("owners by controller %s: %w", ref.UID, err)
	}
	seen := map[string]bool{}
	var out []*corev1.Pod
	var errs []error
	for _, o := range siblings {
		sib, ok := c.kind.fromObj(o)
		if !ok || sib.Namespace != rs.Namespace {
			continue
		}
		pods, err := podsOf(c.podIndexer, sib.Namespace, string(sib.UID), false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range pods {
			if !seen[string(p.UID)] {
				seen[string(p.UID)] = true
				out = append(out, p)
			}
		}
	}
	return out, errors.Join(errs...)
}

// slowStartBatch calls fn count times in batches of 1, 2, 4, ... running
// each batch concurrently, and stops after the first batch with a failure:
// a controller whose pods are all rejected (quota, admission) makes one
// failing request per sync instead of hundreds. It returns the number of
// successful calls and the first error.
func slowStartBatch(count, initial int, fn func() error) (int, error) {
	remaining, successes := count, 0
	for batch := min(remaining, initial); batch > 0; batch = min(2*batch, remaining) {
		errCh := make(chan error, batch)
		var wg sync.WaitGroup
		for range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					errCh <- err
				}
			}()
		}
		wg.Wait()
		successes += batch - len(errCh)
		if len(errCh) > 0 {
			return successes, <-errCh
		}
		remaining -= batch
	}
	return successes, nil
}
