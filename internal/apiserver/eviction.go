package apiserver

import (
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"kplane/internal/registry"
	"kplane/internal/storage"
)

// checkDisruptionBudgets refuses an eviction that a PodDisruptionBudget
// does not allow and otherwise takes one disruption from each budget that
// covers the pod, as upstream's eviction REST does.
func (s *Server) checkDisruptionBudgets(r *http.Request, pods *served, ns, name string) error {
	obj, err := pods.rest.Get(r.Context(), ns, name)
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed || pod.DeletionTimestamp != nil {
		return nil
	}
	pdbs, ok := s.resources["policy/v1/poddisruptionbudgets"]
	if !ok {
		return nil
	}
	res, err := pdbs.rest.List(r.Context(), ns, registry.Selection{}, storage.ListOptions{})
	if err != nil {
		return err
	}
	for _, it := range res.Items {
		pdb := it.(*policyv1.PodDisruptionBudget)
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		// policy/v1: an empty selector matches every pod in the namespace
		// (a nil one matches none: LabelSelectorAsSelector gives Nothing).
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if pdb.Status.ObservedGeneration < pdb.Generation || pdb.Status.DisruptionsAllowed <= 0 {
			e := apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
			e.ErrStatus.Details.Causes = append(e.ErrStatus.Details.Causes, metav1.StatusCause{
				Type: policyv1.DisruptionBudgetCause, Message: "The disruption budget " + pdb.Name + " needs " +
					itoa(pdb.Status.DesiredHealthy) + " healthy pods and has " + itoa(pdb.Status.CurrentHealthy) + " currently"})
			return e
		}
		_, _, err = pdbs.rest.Update(r.Context(), ns, pdb.Name, "status", func(cur runtime.Object) (runtime.Object, error) {
			p := cur.DeepCopyObject().(*policyv1.PodDisruptionBudget)
			if p.Status.DisruptionsAllowed <= 0 {
				return nil, apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
			}
			p.Status.DisruptionsAllowed--
			if p.Status.DisruptedPods == nil {
				p.Status.DisruptedPods = map[string]metav1.Time{}
			}
			p.Status.DisruptedPods[name] = metav1.Now()
			return p, nil
		}, registry.UpdateOptions{})
		if err != nil {
			return err
		}
	}
	return nil
}

func itoa(n int32) string {
	return strconv.FormatInt(int64(n), 10)
}
