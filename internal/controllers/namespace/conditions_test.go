package namespace

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

func TestConditions(t *testing.T) {
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	deploys := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	tests := []struct {
		name  string
		fill  func(*conditions)
		want  map[corev1.NamespaceConditionType][3]string // status, reason, message
		start []corev1.NamespaceCondition
	}{
		{
			name: "all ok",
			fill: func(*conditions) {},
			want: map[corev1.NamespaceConditionType][3]string{
				corev1.NamespaceDeletionDiscoveryFailure: {"False", "ResourcesDiscovered", "All resources successfully discovered"},
				corev1.NamespaceFinalizersRemaining:      {"False", "ContentHasNoFinalizers", "All content-preserving finalizers finished"},
			},
		},
		{
			name: "remaining content sorted",
			fill: func(c *conditions) {
				c.remaining(map[schema.GroupVersionResource]int{pods: 3, deploys: 1}, map[string]int{"b/x": 1, "a/y": 2})
			},
			want: map[corev1.NamespaceConditionType][3]string{
				corev1.NamespaceContentRemaining: {"True", "SomeResourcesRemain",
					"Some resources are remaining: deployments.apps has 1 resource instances, pods. has 3 resource instances"},
				corev1.NamespaceFinalizersRemaining: {"True", "SomeFinalizersRemain",
					"Some content in the namespace has finalizers remaining: a/y in 2 resource instances, b/x in 1 resource instances"},
			},
		},
		{
			name: "discovery and content failures",
			fill: func(c *conditions) {
				c.discoveryFailed(&discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{{Group: "metrics.k8s.io", Version: "v1beta1"}: errors.New("boom")}})
				c.contentFailed(errors.New("z failed"))
				c.contentFailed(errors.New("a failed"))
			},
			want: map[corev1.NamespaceConditionType][3]string{
				corev1.NamespaceDeletionDiscoveryFailure: {"True", "DiscoveryFailed",
					"Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: boom"},
				corev1.NamespaceDeletionContentFailure: {"True", "ContentDeletionFailed", "Failed to delete all resource types, 2 remaining: a failed, z failed"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c conditions
			tc.fill(&c)
			var st corev1.NamespaceStatus
			if !c.apply(&st) {
				t.Fatal("first apply reported no change")
			}
			if len(st.Conditions) != 5 {
				t.Fatalf("got %d conditions, want all 5", len(st.Conditions))
			}
			for typ, want := range tc.want {
				got := find(st.Conditions, typ)
				if got == nil || string(got.Status) != want[0] || got.Reason != want[1] || got.Message != want[2] {
					t.Errorf("%s = %+v, want %v", typ, got, want)
				}
			}
			var again conditions
			tc.fill(&again)
			if again.apply(&st) {
				t.Error("applying the same findings again reported a change")
			}
		})
	}
}
