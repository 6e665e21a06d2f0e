package namespace_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

// condition waits until the namespace has condition typ with status True
// and the given reason and message.
func condition(t *testing.T, cs kubernetes.Interface, ns string, typ corev1.NamespaceConditionType, reason, msg string) {
	t.Helper()
	var last []corev1.NamespaceCondition
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = n.Status.Conditions
		for _, c := range n.Status.Conditions {
			if c.Type == typ && c.Status == corev1.ConditionTrue && c.Reason == reason && c.Message == msg {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("namespace %s: no condition %s=True %s %q; conditions: %+v", ns, typ, reason, msg, last)
	}
}

func namespaceGone(cs kubernetes.Interface, ns string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func pod(name, node string, grace int64) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		NodeName: node, TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
}

func TestNamespaceDeletion(t *testing.T) {
	cs := controllertest.Start(t, manager.Config{Controllers: []string{"namespace"}}).Admin
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, ns string)
	}{
		{"content is deleted, then the namespace", func(t *testing.T, ctx context.Context, ns string) {
			if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("unbound", "", 30), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			one := int32(1)
			sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}
			if _, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "rs"},
				Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: sel, Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: sel.MatchLabels}, Spec: pod("", "", 30).Spec}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, "namespace deleted", namespaceGone(cs, ns))
			cms, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(cms.Items) != 0 {
				t.Errorf("configmaps left in deleted namespace: %v %v", cms, err)
			}
			rss, err := cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(rss.Items) != 0 {
				t.Errorf("replicasets left in deleted namespace: %v %v", rss, err)
			}
		}},
		{"content with finalizers holds the namespace", func(t *testing.T, ctx context.Context, ns string) {
			if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: "held", Finalizers: []string{"example.com/hold"}}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			condition(t, cs, ns, corev1.NamespaceContentRemaining, "SomeResourcesRemain", "Some resources are remaining: configmaps. has 1 resource instances")
			condition(t, cs, ns, corev1.NamespaceFinalizersRemaining, "SomeFinalizersRemain",
				"Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
			n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n.Status.Phase != corev1.NamespaceTerminating {
				t.Errorf("phase = %s, want Terminating", n.Status.Phase)
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NamespaceDeletionDiscoveryFailure && (c.Status != corev1.ConditionFalse || c.Reason != "ResourcesDiscovered" || c.Message != "All resources successfully discovered") {
					t.Errorf("discovery condition = %+v, want False ResourcesDiscovered", c)
				}
			}
			if _, err := cs.CoreV1().ConfigMaps(ns).Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, "namespace deleted once the finalizer is gone", namespaceGone(cs, ns))
		}},
		{"a bound pod with no kubelet holds the namespace until force-deleted", func(t *testing.T, ctx context.Context, ns string) {
			if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("bound", "node-that-never-answers", 1), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			condition(t, cs, ns, corev1.NamespaceDeletionContentFailure, "ContentDeletionFailed",
				"Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: "+ns+" for gvr: /v1, Resource=pods")
			condition(t, cs, ns, corev1.NamespaceContentRemaining, "SomeResourcesRemain", "Some resources are remaining: pods. has 1 resource instances")
			p, err := cs.CoreV1().Pods(ns).Get(ctx, "bound", metav1.GetOptions{})
			if err != nil || p.DeletionTimestamp == nil {
				t.Fatalf("bound pod should be terminating: %v %v", p, err)
			}
			zero := int64(0)
			if err := cs.CoreV1().Pods(ns).Delete(ctx, "bound", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, "namespace deleted once the pod is gone", namespaceGone(cs, ns))
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ns := "ns-" + string(rune('a'+i))
			if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			tc.run(t, ctx, ns)
		})
	}
}
