package garbagecollector_test

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

func ownerRef(cm *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, BlockOwnerDeletion: &block}
}

func createCM(t *testing.T, cs kubernetes.Interface, ns, name string, refs ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(context.Background(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: refs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap %s/%s: %v", ns, name, err)
	}
	return cm
}

func gone(cs kubernetes.Interface, ns, name string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	}
}

func TestGarbageCollector(t *testing.T) {
	cs := controllertest.Start(t, manager.Config{Controllers: []string{"garbagecollector"}}).Admin
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, ns string)
	}{
		{"background deletes dependents of a deleted owner", func(t *testing.T, ns string) {
			owner := createCM(t, cs, ns, "owner")
			createCM(t, cs, ns, "dep-1", ownerRef(owner, false))
			createCM(t, cs, ns, "dep-2", ownerRef(owner, true))
			bg := metav1.DeletePropagationBackground
			if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, "dep-1 collected", gone(cs, ns, "dep-1"))
			controllertest.Eventually(t, "dep-2 collected", gone(cs, ns, "dep-2"))
		}},
		{"foreground deletes blocking dependents before the owner", func(t *testing.T, ns string) {
			owner := createCM(t, cs, ns, "owner")
			createCM(t, cs, ns, "dep-1", ownerRef(owner, true))
			grand := createCM(t, cs, ns, "dep-2", ownerRef(owner, true))
			createCM(t, cs, ns, "grandchild", ownerRef(grand, true))
			w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: owner.ResourceVersion})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			fg := metav1.DeletePropagationForeground
			if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &fg}); err != nil {
				t.Fatal(err)
			}
			cur, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "owner", metav1.GetOptions{})
			if err == nil && !slices.Contains(cur.Finalizers, metav1.FinalizerDeleteDependents) {
				t.Errorf("owner finalizers = %v, want foregroundDeletion while dependents exist", cur.Finalizers)
			}
			var order []string
			timeout := time.After(60 * time.Second)
			for len(order) < 4 {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						t.Fatalf("watch closed; deleted so far: %v", order)
					}
					if ev.Type == watch.Deleted {
						order = append(order, ev.Object.(*corev1.ConfigMap).Name)
					}
				case <-timeout:
					t.Fatalf("not all deleted; deleted so far: %v", order)
				}
			}
			if order[3] != "owner" {
				t.Errorf("deletion order %v: owner must go last", order)
			}
			if slices.Index(order, "grandchild") > slices.Index(order, "dep-2") {
				t.Errorf("deletion order %v: grandchild must go before dep-2 (foreground cascades)", order)
			}
		}},
		{"orphan keeps dependents and removes their references", func(t *testing.T, ns string) {
			owner := createCM(t, cs, ns, "owner")
			other := createCM(t, cs, ns, "other")
			createCM(t, cs, ns, "dep-1", ownerRef(owner, true), ownerRef(other, false))
			createCM(t, cs, ns, "dep-2", ownerRef(owner, false))
			or := metav1.DeletePropagationOrphan
			if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "owner", metav1.DeleteOptions{PropagationPolicy: &or}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, "owner deleted", gone(cs, ns, "owner"))
			for name, want := range map[string][]types.UID{"dep-1": {other.UID}, "dep-2": nil} {
				cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					t.Fatalf("orphaned %s: %v", name, err)
				}
				var got []types.UID
				for _, r := range cm.OwnerReferences {
					got = append(got, r.UID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s owner UIDs = %v, want %v", name, got, want)
				}
			}
		}},
		{"references with the wrong UID or to absent owners are dangling", func(t *testing.T, ns string) {
			owner := createCM(t, cs, ns, "owner")
			wrong := ownerRef(owner, false)
			wrong.UID = "00000000-0000-0000-0000-000000000001"
			createCM(t, cs, ns, "wrong-uid", wrong)
			never := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "never", UID: "00000000-0000-0000-0000-000000000002"}
			createCM(t, cs, ns, "never-owned", never)
			createCM(t, cs, ns, "mixed", ownerRef(owner, false), never)
			keep := createCM(t, cs, ns, "kept", ownerRef(owner, false))
			controllertest.Eventually(t, "wrong-uid collected", gone(cs, ns, "wrong-uid"))
			controllertest.Eventually(t, "never-owned collected", gone(cs, ns, "never-owned"))
			controllertest.Eventually(t, "dangling reference removed from mixed", func(context.Context) (bool, error) {
				cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "mixed", metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				return len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == owner.UID, nil
			})
			cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "kept", metav1.GetOptions{})
			if err != nil || cm.UID != keep.UID {
				t.Errorf("kept: %v (an object with a live owner must stay)", err)
			}
		}},
		{"cluster-scoped owners of cluster-scoped and namespaced dependents", func(t *testing.T, ns string) {
			role, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ns + "-owner"}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ref := metav1.OwnerReference{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Name: role.Name, UID: role.UID}
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: ns + "-dep", OwnerReferences: []metav1.OwnerReference{ref}},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			createCM(t, cs, ns, "namespaced-dep", ref)
			if err := cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			controllertest.Eventually(t, "cluster role binding collected", func(context.Context) (bool, error) {
				_, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, ns+"-dep", metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return true, nil
				}
				return false, err
			})
			controllertest.Eventually(t, "namespaced dependent collected", gone(cs, ns, "namespaced-dep"))
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := "gc-" + string(rune('a'+i))
			if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			tc.run(t, ns)
		})
	}
}
