package replicaset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Event reasons, as upstream's pod control.
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonFailedCreate     = "FailedCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedDelete     = "FailedDelete"
)

// errNoLabels is returned for a template without labels: such pods could
// never be matched by their owner.
var errNoLabels = errors.New("unable to create pods, no labels")

// podControl writes pods on behalf of a controller and records the events
// upstream's RealPodControl records.
type podControl struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
}

// podFromTemplate builds the pod a controller named owner creates from
// template: template labels, annotations and finalizers, the controller
// reference and generateName "<owner>-".
func podFromTemplate(template *corev1.PodTemplateSpec, ns, owner string, ref *metav1.OwnerReference) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace:    ns,
		GenerateName: podNamePrefix(owner),
		Labels:       copyMap(template.Labels),
		Annotations:  copyMap(template.Annotations),
	}}
	if len(template.Finalizers) > 0 {
		pod.Finalizers = append([]string(nil), template.Finalizers...)
	}
	if ref != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	pod.Spec = *template.Spec.DeepCopy()
	return pod
}

// podNamePrefix is "<owner>-", or owner alone when that is not a valid
// generateName.
func podNamePrefix(owner string) string {
	prefix := owner + "-"
	if len(apivalidation.NameIsDNSSubdomain(prefix, true)) != 0 {
		return owner
	}
	return prefix
}

func copyMap(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// create creates one pod from template for the object referenced by obj.
func (c *podControl) create(ctx context.Context, obj *corev1.ObjectReference, template *corev1.PodTemplateSpec, ref *metav1.OwnerReference) error {
	pod := podFromTemplate(template, obj.Namespace, obj.Name, ref)
	if len(pod.Labels) == 0 {
		return errNoLabels
	}
	created, err := c.client.CoreV1().Pods(obj.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(obj, corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		}
		return fmt.Errorf("create pod for %s %s/%s: %w", obj.Kind, obj.Namespace, obj.Name, err)
	}
	c.recorder.Eventf(obj, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

// delete deletes pod name of obj's namespace. A pod that is already gone
// is returned as a NotFound error without an event.
func (c *podControl) delete(ctx context.Context, obj *corev1.ObjectReference, name string) error {
	err := c.client.CoreV1().Pods(obj.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("delete pod %s/%s: %w", obj.Namespace, name, err)
		}
		c.recorder.Eventf(obj, corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("unable to delete pods: %w", err)
	}
	c.recorder.Eventf(obj, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", name)
	return nil
}

// patch applies a strategic merge patch to pod ns/name.
func (c *podControl) patch(ctx context.Context, ns, name string, data []byte) error {
	if _, err := c.client.CoreV1().Pods(ns).Patch(ctx, name, types.StrategicMergePatchType, data, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch pod %s/%s: %w", ns, name, err)
	}
	return nil
}

// adoptPatch sets owner as the controller of the pod with UID podUID; the
// UID makes the patch fail if the pod was replaced by a namesake.
func adoptPatch(ref metav1.OwnerReference, podUID types.UID) ([]byte, error) {
	type meta struct {
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
		UID             types.UID               `json:"uid"`
	}
	return json.Marshal(struct {
		Metadata meta `json:"metadata"`
	}{meta{OwnerReferences: []metav1.OwnerReference{ref}, UID: podUID}})
}

// releasePatch removes the ownerReference with UID ownerUID from the pod
// with UID podUID.
func releasePatch(ownerUID, podUID types.UID) ([]byte, error) {
	type delRef struct {
		Patch string    `json:"$patch"`
		UID   types.UID `json:"uid"`
	}
	type meta struct {
		OwnerReferences []delRef  `json:"ownerReferences"`
		UID             types.UID `json:"uid"`
	}
	return json.Marshal(struct {
		Metadata meta `json:"metadata"`
	}{meta{OwnerReferences: []delRef{{Patch: "delete", UID: ownerUID}}, UID: podUID}})
}
