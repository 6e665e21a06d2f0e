package nodelifecycle

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

var (
	// unreachableTaint is put on a node whose Ready condition is Unknown.
	unreachableTaint = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	// notReadyTaint is put on a node whose Ready condition is False.
	notReadyTaint = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}

	// conditionTaints maps a node condition and status to the taint key
	// that mirrors it with effect NoSchedule.
	conditionTaints = map[corev1.NodeConditionType]map[corev1.ConditionStatus]string{
		corev1.NodeReady: {
			corev1.ConditionFalse:   corev1.TaintNodeNotReady,
			corev1.ConditionUnknown: corev1.TaintNodeUnreachable,
		},
		corev1.NodeMemoryPressure:     {corev1.ConditionTrue: corev1.TaintNodeMemoryPressure},
		corev1.NodeDiskPressure:       {corev1.ConditionTrue: corev1.TaintNodeDiskPressure},
		corev1.NodeNetworkUnavailable: {corev1.ConditionTrue: corev1.TaintNodeNetworkUnavailable},
		corev1.NodePIDPressure:        {corev1.ConditionTrue: corev1.TaintNodePIDPressure},
	}
	// conditionTaintKeys are the keys this controller owns with NoSchedule.
	conditionTaintKeys = map[string]bool{
		corev1.TaintNodeNotReady: true, corev1.TaintNodeUnreachable: true, corev1.TaintNodeNetworkUnavailable: true,
		corev1.TaintNodeMemoryPressure: true, corev1.TaintNodeDiskPressure: true, corev1.TaintNodePIDPressure: true,
	}
)

// taintExists reports whether taints has one with t's key and effect.
func taintExists(taints []corev1.Taint, t corev1.Taint) bool {
	for i := range taints {
		if taints[i].Key == t.Key && taints[i].Effect == t.Effect {
			return true
		}
	}
	return false
}

// wantedNoScheduleTaints are the NoSchedule taints the node's conditions
// and unschedulable flag call for.
func wantedNoScheduleTaints(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, c := range node.Status.Conditions {
		if key, ok := conditionTaints[c.Type][c.Status]; ok {
			out = append(out, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return out
}

// noScheduleDiff compares the wanted NoSchedule condition taints with the
// node's own ones and returns what to add and remove.
func noScheduleDiff(node *corev1.Node) (add, del []corev1.Taint) {
	want := wantedNoScheduleTaints(node)
	var have []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule && (t.Key == corev1.TaintNodeUnschedulable || conditionTaintKeys[t.Key]) {
			have = append(have, t)
		}
	}
	for _, t := range want {
		if !taintExists(have, t) {
			add = append(add, t)
		}
	}
	for _, t := range have {
		if !taintExists(want, t) {
			del = append(del, t)
		}
	}
	return add, del
}

// taintPatcher changes node taints with optimistic concurrency.
type taintPatcher struct {
	client kubernetes.Interface
	clock  clock.PassiveClock
}

// swap adds and removes taints on node (a cached copy: on a conflict the
// node is read again). Added taints get TimeAdded, as upstream sets it.
// It returns whether the node changed.
func (p taintPatcher) swap(ctx context.Context, node *corev1.Node, add, del []corev1.Taint) (bool, error) {
	if len(add) == 0 && len(del) == 0 {
		return false, nil
	}
	cur := node
	for attempt := 0; ; attempt++ {
		next, changed := applyTaints(cur.Spec.Taints, add, del, metav1.NewTime(p.clock.Now()))
		if !changed {
			return false, nil
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": cur.ResourceVersion},
			"spec":     map[string]any{"taints": next},
		})
		if err != nil {
			return false, fmt.Errorf("encode taints patch: %w", err)
		}
		_, err = p.client.CoreV1().Nodes().Patch(ctx, cur.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return true, nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return false, fmt.Errorf("patch taints of node %s: %w", cur.Name, err)
		}
		if cur, err = p.client.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{}); err != nil {
			return false, fmt.Errorf("get node %s: %w", node.Name, err)
		}
	}
}

// applyTaints returns taints without del and with add (key and effect
// identify a taint), and whether that differs from taints.
func applyTaints(taints, add, del []corev1.Taint, now metav1.Time) ([]corev1.Taint, bool) {
	out := make([]corev1.Taint, 0, len(taints)+len(add))
	changed := false
	for _, t := range taints {
		if taintExists(del, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, t := range add {
		if taintExists(out, t) {
			continue
		}
		t.TimeAdded = &now
		out = append(out, t)
		changed = true
	}
	return out, changed
}
