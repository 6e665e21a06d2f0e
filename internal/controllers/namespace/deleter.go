package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/utils/clock"
)

// finalizerEstimateSeconds is how long to wait, as upstream, when the
// remaining content is held by finalizers.
const finalizerEstimateSeconds = 15

// remainingError says content is still going away; Estimate is upstream's
// estimate in seconds of how long that takes.
type remainingError struct{ Estimate int64 }

func (e *remainingError) Error() string {
	return fmt.Sprintf("some content remains in the namespace, estimate %d seconds before it is removed", e.Estimate)
}

// deleter empties terminating namespaces.
type deleter struct {
	client   kubernetes.Interface
	meta     metadata.Interface
	discover func() ([]*metav1.APIResourceList, error)
	clock    clock.Clock
}

// delete runs one deletion pass over namespace name. It returns nil when
// the namespace is finalized (or gone, or not being deleted), a
// *remainingError when content is still disappearing, or another error.
func (d *deleter) delete(ctx context.Context, name string) error {
	nsc := d.client.CoreV1().Namespaces()
	ns, err := nsc.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.DeletionTimestamp == nil {
		return nil
	}
	ns, err = d.retryOnConflict(ctx, ns, func(ns *corev1.Namespace) (*corev1.Namespace, error) {
		if ns.DeletionTimestamp == nil || ns.Status.Phase == corev1.NamespaceTerminating {
			return ns, nil
		}
		ns = ns.DeepCopy()
		ns.Status.Phase = corev1.NamespaceTerminating
		return nsc.UpdateStatus(ctx, ns, metav1.UpdateOptions{})
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mark namespace %s terminating: %w", name, err)
	}
	if ns.DeletionTimestamp == nil || len(ns.Spec.Finalizers) == 0 {
		return nil
	}
	estimate, err := d.deleteAllContent(ctx, ns)
	if err != nil {
		return err
	}
	if estimate > 0 {
		return &remainingError{Estimate: estimate}
	}
	_, err = d.retryOnConflict(ctx, ns, func(ns *corev1.Namespace) (*corev1.Namespace, error) {
		fin := ns.DeepCopy()
		fin.Spec.Finalizers = slices.DeleteFunc(fin.Spec.Finalizers, func(f corev1.FinalizerName) bool { return f == corev1.FinalizerKubernetes })
		return nsc.Finalize(ctx, fin, metav1.UpdateOptions{})
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	return nil
}

// retryOnConflict applies fn, re-reading the namespace after conflicts;
// it fails if the namespace was replaced by another of the same name.
func (d *deleter) retryOnConflict(ctx context.Context, ns *corev1.Namespace, fn func(*corev1.Namespace) (*corev1.Namespace, error)) (*corev1.Namespace, error) {
	for {
		out, err := fn(ns)
		if err == nil || !apierrors.IsConflict(err) {
			return out, err
		}
		latest, err := d.client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if latest.UID != ns.UID {
			return nil, errors.New("namespace uid has changed across retries")
		}
		ns = latest
	}
}

// gvrResult is what deleting one resource's content left behind.
type gvrResult struct {
	estimate    int64
	remaining   int
	byFinalizer map[string]int
}

// deleteAllContent deletes every namespaced object in ns, records the
// outcome in the namespace's conditions and returns an estimate in seconds
// of how long the remaining content takes to go.
func (d *deleter) deleteAllContent(ctx context.Context, ns *corev1.Namespace) (int64, error) {
	var (
		errs     []error
		conds    conditions
		estimate int64
	)
	lists, err := d.discover()
	if err != nil {
		// Not fatal: delete what can be discovered.
		errs = append(errs, err)
		conds.discoveryFailed(err)
	}
	lists = discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"delete"}}, lists)
	gvrs, verbs, err := resources(lists)
	if err != nil {
		errs = append(errs, err)
		conds.groupVersionFailed(err)
	}
	byResource := map[schema.GroupVersionResource]int{}
	byFinalizer := map[string]int{}
	for _, gvr := range gvrs {
		res, err := d.deleteResource(ctx, gvr, verbs[gvr], ns.Name, ns.DeletionTimestamp.Time)
		if err != nil {
			errs = append(errs, err)
			conds.contentFailed(err)
		}
		estimate = max(estimate, res.estimate)
		if res.remaining > 0 {
			byResource[gvr] = res.remaining
			for f, n := range res.byFinalizer {
				byFinalizer[f] += n
			}
		}
	}
	conds.remaining(byResource, byFinalizer)
	if conds.apply(&ns.Status) {
		if updated, err := d.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err == nil {
			*ns = *updated
		}
	}
	return estimate, errors.Join(errs...)
}

// resources lists the discovered resources with their verbs, in discovery
// order (so passes are deterministic).
func resources(lists []*metav1.APIResourceList) ([]schema.GroupVersionResource, map[schema.GroupVersionResource][]string, error) {
	var (
		out   []schema.GroupVersionResource
		verbs = map[schema.GroupVersionResource][]string{}
		errs  []error
	)
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range l.APIResources {
			gvr := gv.WithResource(r.Name)
			if _, dup := verbs[gvr]; dup {
				continue
			}
			verbs[gvr] = r.Verbs
			out = append(out, gvr)
		}
	}
	return out, verbs, errors.Join(errs...)
}

// deleteResource deletes one resource's objects in namespace ns (one
// deletecollection where supported) and reports what remains.
func (d *deleter) deleteResource(ctx context.Context, gvr schema.GroupVersionResource, verbs []string, ns string, deletedAt time.Time) (gvrResult, error) {
	estimate, err := d.estimateGracefulTermination(ctx, gvr, ns, deletedAt)
	if err != nil {
		return gvrResult{}, err
	}
	res := d.meta.Resource(gvr).Namespace(ns)
	background := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &background}
	collected := false
	if slices.Contains(verbs, "deletecollection") {
		err := res.DeleteCollection(ctx, opts, metav1.ListOptions{})
		switch {
		case err == nil:
			collected = true
		case apierrors.IsMethodNotSupported(err), apierrors.IsNotFound(err):
		default:
			return gvrResult{estimate: estimate}, fmt.Errorf("delete collection of %s in %s: %w", gvr, ns, err)
		}
	}
	canList := slices.Contains(verbs, "list")
	if !collected && canList {
		items, err := res.List(ctx, metav1.ListOptions{})
		if err != nil && !apierrors.IsMethodNotSupported(err) && !apierrors.IsNotFound(err) {
			return gvrResult{estimate: estimate}, fmt.Errorf("list %s in %s: %w", gvr, ns, err)
		}
		if err == nil {
			for _, it := range items.Items {
				err := res.Delete(ctx, it.Name, opts)
				if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsMethodNotSupported(err) {
					return gvrResult{estimate: estimate}, fmt.Errorf("delete %s %s/%s: %w", gvr, ns, it.Name, err)
				}
			}
		}
	}
	if !canList {
		return gvrResult{estimate: estimate}, nil
	}
	left, err := res.List(ctx, metav1.ListOptions{})
	if apierrors.IsMethodNotSupported(err) || apierrors.IsNotFound(err) {
		return gvrResult{estimate: estimate}, nil
	}
	if err != nil {
		return gvrResult{estimate: estimate}, fmt.Errorf("list %s in %s: %w", gvr, ns, err)
	}
	if len(left.Items) == 0 {
		return gvrResult{}, nil
	}
	out := gvrResult{estimate: estimate, remaining: len(left.Items), byFinalizer: map[string]int{}}
	for _, it := range left.Items {
		for _, f := range it.Finalizers {
			out.byFinalizer[f]++
		}
	}
	if estimate > 0 {
		return out, nil
	}
	if len(out.byFinalizer) > 0 {
		// Finalizers are normal; give their controllers time.
		out.estimate = finalizerEstimateSeconds
		return out, nil
	}
	return gvrResult{estimate: estimate, remaining: len(left.Items)},
		fmt.Errorf("unexpected items still remain in namespace: %s for gvr: %v", ns, gvr)
}

// estimateGracefulTermination is, for pods, the longest grace period of a
// pod that is not finished, unless that much time has already passed since
// the namespace was deleted; 0 for everything else.
func (d *deleter) estimateGracefulTermination(ctx context.Context, gvr schema.GroupVersionResource, ns string, deletedAt time.Time) (int64, error) {
	if gvr.GroupResource() != (schema.GroupResource{Resource: "pods"}) {
		return 0, nil
	}
	pods, err := d.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	var estimate int64
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if g := p.Spec.TerminationGracePeriodSeconds; g != nil && *g > estimate {
			estimate = *g
		}
	}
	if d.clock.Since(deletedAt) >= time.Duration(estimate)*time.Second {
		return 0, nil
	}
	return estimate, nil
}
