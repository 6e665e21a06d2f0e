package nodelifecycle

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// NodeNameIndex indexes the shared pod informer by spec.nodeName; the
// node lifecycle and taint eviction controllers (and any other controller
// that asks "which pods are on this node") share it.
const NodeNameIndex = "spec.nodeName"

// addNodeNameIndex adds NodeNameIndex to the pod informer unless another
// controller already did, and returns a lookup by node name.
func addNodeNameIndex(inf cache.SharedIndexInformer) (func(string) ([]*corev1.Pod, error), error) {
	if _, ok := inf.GetIndexer().GetIndexers()[NodeNameIndex]; !ok {
		err := inf.AddIndexers(cache.Indexers{NodeNameIndex: func(obj any) ([]string, error) {
			pod, ok := obj.(*corev1.Pod)
			if !ok || pod.Spec.NodeName == "" {
				return nil, nil
			}
			return []string{pod.Spec.NodeName}, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("add %s pod index: %w", NodeNameIndex, err)
		}
	}
	indexer := inf.GetIndexer()
	return func(node string) ([]*corev1.Pod, error) {
		objs, err := indexer.ByIndex(NodeNameIndex, node)
		if err != nil {
			return nil, err
		}
		pods := make([]*corev1.Pod, 0, len(objs))
		for _, o := range objs {
			if p, ok := o.(*corev1.Pod); ok {
				pods = append(pods, p)
			}
		}
		return pods, nil
	}, nil
}

// markPodsNotReady sets the Ready condition of the node's pods to False,
// as the kubelet that would report it is gone.
func (c *Controller) markPodsNotReady(ctx context.Context, pods []*corev1.Pod, node string) error {
	var errs []error
	now := metav1.NewTime(c.clock.Now())
	for _, p := range pods {
		if p.Spec.NodeName != node {
			continue
		}
		i := podConditionIndex(p.Status.Conditions, corev1.PodReady)
		if i < 0 || p.Status.Conditions[i].Status == corev1.ConditionFalse {
			continue
		}
		pod := p.DeepCopy()
		cond := &pod.Status.Conditions[i]
		cond.Status = corev1.ConditionFalse
		cond.LastTransitionTime = now
		if _, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, fmt.Errorf("mark pod %s/%s not ready: %w", pod.Namespace, pod.Name, err))
			continue
		}
		c.recorder.Event(pod, corev1.EventTypeWarning, "NodeNotReady", "Node is not ready")
	}
	return errors.Join(errs...)
}

func podConditionIndex(conds []corev1.PodCondition, t corev1.PodConditionType) int {
	for i := range conds {
		if conds[i].Type == t {
			return i
		}
	}
	return -1
}
