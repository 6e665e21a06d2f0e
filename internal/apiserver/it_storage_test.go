package apiserver_test

import (
	"bytes"
	"context"
	"reflect"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"kplane/internal/controlplane"
)

// TestStorageFormat reads what the API server wrote straight from etcd:
// upstream's key layout, the protobuf envelope, no stored resourceVersion,
// and resourceVersion equal to the key's mod revision.
func TestStorageFormat(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	cs, _ := adminClientset(t, cp)
	ctx := context.Background()
	const ns = "st"
	createNamespace(t, cs, ns)
	pod := testPod("web")
	pod.Labels = map[string]string{"app": "web"}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
	created, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	updated, err := cs.CoreV1().Pods(ns).Patch(ctx, "web", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"v":"2"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatalf("patch pod: %v", err)
	}
	if updated.UID != created.UID {
		t.Fatalf("uid changed by patch: %s -> %s", created.UID, updated.UID)
	}

	labels := map[string]string{"app": "web"}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "dep"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod.Spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	pb := protobuf.NewSerializer(scheme, scheme)

	for _, tc := range []struct {
		name    string
		key     string
		fromAPI func() (runtime.Object, error)
		check   func(t *testing.T, stored, api runtime.Object)
	}{
		{
			name: "pod", key: "/registry/pods/st/web",
			fromAPI: func() (runtime.Object, error) { return cs.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{}) },
			check: func(t *testing.T, stored, api runtime.Object) {
				s, a := stored.(*corev1.Pod), api.(*corev1.Pod)
				if s.Name != a.Name || s.Namespace != a.Namespace || s.UID != a.UID || !reflect.DeepEqual(s.Labels, a.Labels) {
					t.Errorf("stored meta %s/%s uid=%s labels=%v, API %s/%s uid=%s labels=%v", s.Namespace, s.Name, s.UID, s.Labels, a.Namespace, a.Name, a.UID, a.Labels)
				}
				if !reflect.DeepEqual(s.Spec, a.Spec) {
					t.Errorf("stored spec differs from the API's:\nstored %+v\napi    %+v", s.Spec, a.Spec)
				}
			},
		},
		{
			name: "namespace", key: "/registry/namespaces/st",
			fromAPI: func() (runtime.Object, error) { return cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}) },
			check: func(t *testing.T, stored, api runtime.Object) {
				if s, a := stored.(*corev1.Namespace), api.(*corev1.Namespace); s.UID != a.UID || s.Status.Phase != a.Status.Phase {
					t.Errorf("stored namespace uid=%s phase=%s, API uid=%s phase=%s", s.UID, s.Status.Phase, a.UID, a.Status.Phase)
				}
			},
		},
		{
			name: "deployment", key: "/registry/deployments/st/dep",
			fromAPI: func() (runtime.Object, error) {
				return cs.AppsV1().Deployments(ns).Get(ctx, "dep", metav1.GetOptions{})
			},
			check: func(t *testing.T, stored, api runtime.Object) {
				if s, a := stored.(*appsv1.Deployment), api.(*appsv1.Deployment); !reflect.DeepEqual(s.Spec, a.Spec) {
					t.Errorf("stored deployment spec differs from the API's")
				}
			},
		},
		{
			name: "cluster role", key: "/registry/clusterroles/view",
			fromAPI: func() (runtime.Object, error) {
				return cs.RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, err := tc.fromAPI()
			if err != nil {
				t.Fatalf("get from API: %v", err)
			}
			resp, err := cp.EtcdClient().Get(ctx, tc.key)
			if err != nil || len(resp.Kvs) != 1 {
				t.Fatalf("etcd get %s: %d keys, %v", tc.key, len(resp.Kvs), err)
			}
			kv := resp.Kvs[0]
			if !bytes.HasPrefix(kv.Value, []byte("k8s\x00")) {
				t.Fatalf("value of %s starts %q, want the k8s\\x00 protobuf envelope", tc.key, kv.Value[:min(8, len(kv.Value))])
			}
			stored, gvk, err := pb.Decode(kv.Value, nil, nil)
			if err != nil {
				t.Fatalf("decode stored %s: %v", tc.key, err)
			}
			if want := api.GetObjectKind().GroupVersionKind(); gvk.Kind != reflect.TypeOf(api).Elem().Name() || (want.Kind != "" && *gvk != want) {
				t.Fatalf("stored kind %v for %T", gvk, api)
			}
			sm, am := stored.(metav1.Object), api.(metav1.Object)
			if sm.GetResourceVersion() != "" {
				t.Errorf("stored object carries resourceVersion %q; upstream never stores it", sm.GetResourceVersion())
			}
			if am.GetResourceVersion() != strconv.FormatInt(kv.ModRevision, 10) {
				t.Errorf("API resourceVersion %s, etcd mod revision %d", am.GetResourceVersion(), kv.ModRevision)
			}
			if tc.check != nil {
				tc.check(t, stored, api)
			}
		})
	}
}
