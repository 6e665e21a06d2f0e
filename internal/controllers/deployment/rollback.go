package deployment

import (
	"context"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rollbackTo returns the revision requested through the deprecated
// rollback annotation (extensions/v1beta1 spec.rollbackTo), or nil.
// kubectl rollout undo patches the template itself and never sets it.
func rollbackTo(d *appsv1.Deployment) *int64 {
	v := d.Annotations[rollbackToAnnotation]
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// rollback copies the template of the requested revision's ReplicaSet
// into the Deployment and clears the request.
func (c *Controller) rollback(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.allReplicaSetsAndSyncRevision(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	allRSs := append(append([]*appsv1.ReplicaSet{}, oldRSs...), newRS)
	to := *rollbackTo(d)
	if to == 0 {
		if to = lastRevision(allRSs); to == 0 {
			c.recorder.Event(d, corev1.EventTypeWarning, reasonRollbackRevisionMissing, "Unable to find last revision.")
			return c.clearRollbackTo(ctx, d)
		}
	}
	for _, rs := range allRSs {
		if rs == nil {
			continue
		}
		v, err := revision(rs)
		if err != nil || v != to {
			continue
		}
		if equalIgnoreHash(&d.Spec.Template, &rs.Spec.Template) {
			c.recorder.Event(d, corev1.EventTypeWarning, reasonRollbackTemplateSame,
				fmt.Sprintf("The rollback revision contains the same template as current deployment %q", d.Name))
			return c.clearRollbackTo(ctx, d)
		}
		d.Spec.Template.ObjectMeta = rs.Spec.Template.ObjectMeta
		d.Spec.Template.Spec = rs.Spec.Template.Spec
		d.Spec.Template.Labels = cloneWithout(rs.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		setDeploymentAnnotationsTo(d, rs)
		if err := c.clearRollbackTo(ctx, d); err != nil {
			return err
		}
		c.recorder.Event(d, corev1.EventTypeNormal, reasonRollbackDone, fmt.Sprintf("Rolled back deployment %q to revision %d", d.Name, to))
		return nil
	}
	c.recorder.Event(d, corev1.EventTypeWarning, reasonRollbackRevisionMissing, "Unable to find the revision to rollback to.")
	return c.clearRollbackTo(ctx, d)
}

func (c *Controller) clearRollbackTo(ctx context.Context, d *appsv1.Deployment) error {
	delete(d.Annotations, rollbackToAnnotation)
	if _, err := c.client.AppsV1().Deployments(d.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("clear rollback of deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	return nil
}

func cloneWithout(in map[string]string, key string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if k != key {
			out[k] = v
		}
	}
	return out
}
