package registry

import (
	"context"
	"fmt"
	"maps"
	"slices"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/core"
)

// ScaleOf reads the autoscaling/v1 Scale view of a scalable object
// (Deployment, ReplicaSet, StatefulSet, ReplicationController).
func ScaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	acc := mustAccessor(obj)
	s := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{
			Name: acc.GetName(), Namespace: acc.GetNamespace(), UID: acc.GetUID(),
			ResourceVersion: acc.GetResourceVersion(), CreationTimestamp: acc.GetCreationTimestamp(),
		},
	}
	spec, status := structField(obj, "Spec"), structField(obj, "Status")
	if !spec.IsValid() || !status.IsValid() {
		return nil, fmt.Errorf("%T has no scale", obj)
	}
	if rp, ok := spec.FieldByName("Replicas").Interface().(*int32); ok && rp != nil {
		s.Spec.Replicas = *rp
	}
	if r, ok := status.FieldByName("Replicas").Interface().(int32); ok {
		s.Status.Replicas = r
	}
	switch sel := spec.FieldByName("Selector").Interface().(type) {
	case *metav1.LabelSelector:
		if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil {
			s.Status.Selector = ls.String()
		}
	case map[string]string:
		s.Status.Selector = labels.SelectorFromSet(sel).String()
	}
	return s, nil
}

// setReplicas sets spec.replicas of a scalable object.
func setReplicas(obj runtime.Object, n int32) {
	spec := structField(obj, "Spec")
	if f := spec.FieldByName("Replicas"); f.IsValid() && f.CanSet() {
		f.Set(reflectValueOf(&n))
	}
}

// UpdateScale applies a Scale to its parent; fn gets the current Scale and
// returns the wanted one (for PUT the body, for PATCH the patched view).
func (r *REST) UpdateScale(ctx context.Context, ns, name string, fn func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error), dryRun bool) (*autoscalingv1.Scale, error) {
	out, _, err := r.Update(ctx, ns, name, "", func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(r.gr(), name)
		}
		curScale, err := ScaleOf(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		want, err := fn(curScale)
		if err != nil {
			return nil, err
		}
		if want.Name != "" && want.Name != name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", want.Name, name))
		}
		if want.ResourceVersion != "" && want.ResourceVersion != curScale.ResourceVersion {
			return nil, conflictModified(r.gr(), name)
		}
		if want.Spec.Replicas < 0 {
			return nil, apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, name,
				field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), want.Spec.Replicas, "must be greater than or equal to 0")})
		}
		next := cur.DeepCopyObject()
		setReplicas(next, want.Spec.Replicas)
		return next, nil
	}, UpdateOptions{DryRun: dryRun})
	if err != nil {
		return nil, err
	}
	return ScaleOf(out)
}

// Bind assigns a pod to a node through the binding subresource, as the
// scheduler does: spec.nodeName and the PodScheduled condition.
func (r *REST) Bind(ctx context.Context, ns string, b *corev1.Binding, dryRun bool) error {
	if errs := core.ValidateBinding(b); len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, errs)
	}
	_, _, err := r.Update(ctx, ns, b.Name, "binding", func(cur runtime.Object) (runtime.Object, error) {
		if cur == nil {
			return nil, apierrors.NewNotFound(r.gr(), b.Name)
		}
		// cur may be the watch cache's shared pod: the bound pod is a
		// shallow copy with its own copies of what binding changes.
		old := cur.(*corev1.Pod)
		if old.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(r.gr(), b.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", b.Name))
		}
		if old.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(r.gr(), b.Name, fmt.Errorf("pod %s is already assigned to node %q", b.Name, old.Spec.NodeName))
		}
		if b.UID != "" && b.UID != old.UID {
			return nil, apierrors.NewConflict(r.gr(), b.Name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.UID, old.UID))
		}
		pod := *old
		pod.Spec.NodeName = b.Target.Name
		if len(b.Annotations) > 0 {
			pod.Annotations = maps.Clone(old.Annotations)
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			maps.Copy(pod.Annotations, b.Annotations)
		}
		pod.Status.Conditions = slices.Clone(old.Status.Conditions)
		setPodCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(r.now())})
		return &pod, nil
	}, UpdateOptions{DryRun: dryRun, readOnlyCurrent: true})
	return err
}

func setPodCondition(st *corev1.PodStatus, c corev1.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status != c.Status {
				st.Conditions[i] = c
			}
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
