package namespace

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the conditions the controller maintains, in order.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// okConditions are the False ("nothing wrong") variants, with upstream's
// reasons and messages.
var okConditions = map[corev1.NamespaceConditionType][2]string{
	corev1.NamespaceDeletionDiscoveryFailure: {"ResourcesDiscovered", "All resources successfully discovered"},
	corev1.NamespaceDeletionGVParsingFailure: {"ParsedGroupVersions", "All legacy kube types successfully parsed"},
	corev1.NamespaceDeletionContentFailure:   {"ContentDeleted", "All content successfully deleted, may be waiting on finalization"},
	corev1.NamespaceContentRemaining:         {"ContentRemoved", "All content successfully removed"},
	corev1.NamespaceFinalizersRemaining:      {"ContentHasNoFinalizers", "All content-preserving finalizers finished"},
}

// conditions collects one deletion pass's findings.
type conditions struct {
	failed        []corev1.NamespaceCondition
	contentErrors []error
}

func trueCondition(t corev1.NamespaceConditionType, reason, msg string) corev1.NamespaceCondition {
	return corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now(), Reason: reason, Message: msg}
}

func (c *conditions) discoveryFailed(err error) {
	msg := err.Error()
	var gerr *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &gerr) {
		msg = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(gerr.Groups), err)
	}
	c.failed = append(c.failed, trueCondition(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", msg))
}

func (c *conditions) groupVersionFailed(err error) {
	c.failed = append(c.failed, trueCondition(corev1.NamespaceDeletionGVParsingFailure, "GroupVersionParsingFailed", err.Error()))
}

func (c *conditions) contentFailed(err error) { c.contentErrors = append(c.contentErrors, err) }

// remaining records what is left: instances per resource and per finalizer.
func (c *conditions) remaining(byResource map[schema.GroupVersionResource]int, byFinalizer map[string]int) {
	var res []string
	for gvr, n := range byResource {
		if n > 0 {
			res = append(res, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
		}
	}
	if len(res) > 0 {
		sort.Strings(res)
		c.failed = append(c.failed, trueCondition(corev1.NamespaceContentRemaining, "SomeResourcesRemain",
			"Some resources are remaining: "+strings.Join(res, ", ")))
	}
	var fins []string
	for f, n := range byFinalizer {
		if n > 0 {
			fins = append(fins, fmt.Sprintf("%s in %d resource instances", f, n))
		}
	}
	if len(fins) > 0 {
		sort.Strings(fins)
		c.failed = append(c.failed, trueCondition(corev1.NamespaceFinalizersRemaining, "SomeFinalizersRemain",
			"Some content in the namespace has finalizers remaining: "+strings.Join(fins, ", ")))
	}
}

// apply writes the pass's conditions into status and reports whether
// anything changed (then the status must be written).
func (c *conditions) apply(status *corev1.NamespaceStatus) bool {
	found := append([]corev1.NamespaceCondition(nil), c.failed...)
	if len(c.contentErrors) > 0 {
		msgs := make([]string, 0, len(c.contentErrors))
		for _, e := range c.contentErrors {
			msgs = append(msgs, e.Error())
		}
		sort.Strings(msgs)
		found = append(found, trueCondition(corev1.NamespaceDeletionContentFailure, "ContentDeletionFailed",
			fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(c.contentErrors), strings.Join(msgs, ", "))))
	}
	changed := false
	for _, t := range conditionTypes {
		want := find(found, t)
		if want == nil {
			ok := okConditions[t]
			c := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Now(), Reason: ok[0], Message: ok[1]}
			want = &c
		}
		have := find(status.Conditions, t)
		switch {
		case have == nil:
			status.Conditions = append(status.Conditions, *want)
			changed = true
		case have.Status != want.Status || have.Reason != want.Reason || have.Message != want.Message:
			if have.Status != want.Status {
				have.LastTransitionTime = metav1.Now()
			}
			have.Status, have.Reason, have.Message = want.Status, want.Reason, want.Message
			changed = true
		}
	}
	return changed
}

func find(cs []corev1.NamespaceCondition, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}
