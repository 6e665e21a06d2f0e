package apiserver

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/registry"
)

// fieldTestServer is a Server with only what the field managers need: the
// scheme and every registry resource.
func fieldTestServer(tb testing.TB) *Server {
	tb.Helper()
	scheme, err := NewScheme()
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{scheme: scheme, log: slog.New(slog.NewTextHandler(io.Discard, nil)), resources: map[string]*served{}}
	for _, res := range registry.All() {
		s.resources[res.Group+"/"+res.Version+"/"+res.Resource] = &served{res: res, rest: &registry.REST{Res: res}}
	}
	if err := s.buildFieldManagers(); err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestPrefixFromUserAgent(t *testing.T) {
	cases := []struct{ name, ua, want string }{
		{"kubectl", "kubectl/v1.32.0 (linux/amd64) kubernetes/70d3cc9", "kubectl"},
		{"no slash", "curl", "curl"},
		{"empty", "", ""},
		{"unprintable dropped", "my\x00ctl/v1", "myctl"},
		{"cut to 128 bytes", strings.Repeat("a", 200) + "/v1", strings.Repeat("a", 128)},
		{"multibyte not split", strings.Repeat("a", 127) + "é/v1", strings.Repeat("a", 127)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := prefixFromUserAgent(tc.ua); got != tc.want {
				t.Errorf("prefixFromUserAgent(%q) = %q, want %q", tc.ua, got, tc.want)
			}
		})
	}
}

func TestParseWriteOwner(t *testing.T) {
	cases := []struct {
		name, verb, query string
		pt                types.PatchType
		want              writeOwner
		wantErr           string
	}{
		{name: "create with manager", verb: "create", query: "fieldManager=ctl", want: writeOwner{manager: "ctl"}},
		{name: "update from user agent", verb: "update", want: writeOwner{manager: "agent"}},
		{name: "apply with force", verb: "patch", query: "fieldManager=m&force=true", pt: types.ApplyYAMLPatchType, want: writeOwner{manager: "m", force: true}},
		{name: "apply force=false", verb: "patch", query: "fieldManager=m&force=false", pt: types.ApplyYAMLPatchType, want: writeOwner{manager: "m"}},
		{name: "apply without manager", verb: "patch", pt: types.ApplyYAMLPatchType,
			wantErr: `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`},
		{name: "force on strategic patch", verb: "patch", query: "force=false", pt: types.StrategicMergePatchType,
			wantErr: `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`},
		{name: "bad force", verb: "patch", query: "fieldManager=m&force=yes", pt: types.ApplyYAMLPatchType, wantErr: `invalid force "yes"`},
		{name: "manager too long", verb: "create", query: "fieldManager=" + strings.Repeat("x", 129),
			wantErr: `CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes`},
		{name: "unprintable manager", verb: "update", query: "fieldManager=a%07",
			wantErr: `UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\a": invalid character U+0007 (at position 1)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("PATCH", "/api/v1/namespaces/default/configmaps/x?"+tc.query, nil)
			r.Header.Set("User-Agent", "agent/v1 (linux)")
			got, err := parseWriteOwner(r, tc.verb, tc.pt)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// TestServedConverter checks conversions between served versions of one
// storage kind, which the field managers need for managedFields recorded
// through another version.
func TestServedConverter(t *testing.T) {
	s := fieldTestServer(t)
	conv := newServedConverter(s.scheme, s.resources)
	v1 := &autoscalingv1.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "h", Namespace: "default"},
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference{Kind: "Deployment", Name: "web", APIVersion: "apps/v1"},
			MaxReplicas:    5, TargetCPUUtilizationPercentage: ptrTo(int32(70)),
		},
	}
	cases := []struct {
		name   string
		in     runtime.Object
		target schema.GroupVersion
		check  func(t *testing.T, out runtime.Object)
	}{
		{"autoscaling v1 to v2", v1, schema.GroupVersion{Group: "autoscaling", Version: "v2"}, func(t *testing.T, out runtime.Object) {
			h, ok := out.(*autoscalingv2.HorizontalPodAutoscaler)
			if !ok || len(h.Spec.Metrics) != 1 || *h.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 {
				t.Fatalf("got %#v", out)
			}
			if gvk := h.GetObjectKind().GroupVersionKind(); gvk.Version != "v2" {
				t.Errorf("kind = %v", gvk)
			}
		}},
		{"same version is the identity", v1, schema.GroupVersion{Group: "autoscaling", Version: "v1"}, func(t *testing.T, out runtime.Object) {
			if out != runtime.Object(v1) {
				t.Fatalf("got a copy %#v", out)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := conv.ConvertToVersion(tc.in, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
	if _, err := conv.ConvertToVersion(&corev1.ConfigMap{}, schema.GroupVersion{Group: "apps", Version: "v1"}); !runtime.IsNotRegisteredError(err) {
		t.Errorf("conversion to a version without the kind: %v, want a not-registered error", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestApplyConflictAndDefaults exercises serverSideApply directly: a
// partial configuration is defaulted, and a second manager's change to an
// owned field is a FieldManagerConflict.
func TestApplyConflictAndDefaults(t *testing.T) {
	s := fieldTestServer(t)
	sv := s.resources["/v1/pods"]
	apply := func(live runtime.Object, manager string, force bool, image string) (runtime.Object, error) {
		body := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\nspec:\n  containers:\n  - name: c\n    image: %s\n", image)
		return serverSideApply(httptest.NewRecorder(), sv, "", live, []byte(body), writeOwner{manager: manager, force: force}, fvStrict)
	}
	first, err := apply(nil, "a", false, "busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	pod := first.(*corev1.Pod)
	if pod.Spec.RestartPolicy != corev1.RestartPolicyAlways || pod.Spec.Containers[0].TerminationMessagePath == "" {
		t.Errorf("applied pod not defaulted: %+v", pod.Spec)
	}
	pod.UID = "uid-1" // as stored
	_, err = apply(pod, "b", false, "busybox:2")
	var st apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errors.As(err, &st) || st.Status().Details.Causes[0].Field != `.spec.containers[name="c"].image` {
		t.Fatalf("second manager: %v, want a conflict on the image", err)
	}
	forced, err := apply(pod, "b", true, "busybox:2")
	if err != nil || forced.(*corev1.Pod).Spec.Containers[0].Image != "busybox:2" {
		t.Fatalf("forced apply: %v", err)
	}
}

// benchFieldPod is a pod the size of a typical controller-made one.
func benchFieldPod(i int) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("web-%05d", i), Namespace: "default",
			Labels:          map[string]string{"app": "web", "pod-template-hash": "6d5f8c7b9d", "tier": "frontend"},
			Annotations:     map[string]string{"kubernetes.io/config.seen": "2024-01-01T00:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-6d5f8c7b9d", UID: "0b8e6b1c", Controller: ptrTo(true)}},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "web", Image: "nginx:1.27",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "prod"}, {Name: "LOG", Value: "info"}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/web"}},
			}},
			Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}}},
			Tolerations: []corev1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
		},
	}
}

// BenchmarkTrackCreatePod is the managedFields cost of one pod create.
func BenchmarkTrackCreatePod(b *testing.B) {
	sv := fieldTestServer(b).resources["/v1/pods"]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := trackCreate(sv, benchFieldPod(i), "kube-controller-manager"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrackStatusUpdatePod is the managedFields cost of one pod
// status update (a kubelet's phase and condition change): "view" is what
// the server does, "whole" the field manager on the whole pod.
func BenchmarkTrackStatusUpdatePod(b *testing.B) {
	sv := fieldTestServer(b).resources["/v1/pods"]
	live, err := trackCreate(sv, benchFieldPod(0), "kube-controller-manager")
	if err != nil {
		b.Fatal(err)
	}
	live.(*corev1.Pod).UID = "uid"
	next := func(i int) *corev1.Pod {
		p := live.DeepCopyObject().(*corev1.Pod)
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.Status.PodIP = fmt.Sprintf("10.0.%d.%d", i/250%250, i%250)
		return p
	}
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := trackUpdate(sv, "status", live, next(i), "kubelet"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sv.fields.status.UpdateNoErrors(live, next(i), "kubelet")
		}
	})
}

// TestStatusViewSameEntries checks that tracking a status write on views
// without spec yields the entries tracking the whole object does.
func TestStatusViewSameEntries(t *testing.T) {
	sv := fieldTestServer(t).resources["/v1/pods"]
	live, err := trackCreate(sv, benchFieldPod(0), "creator")
	if err != nil {
		t.Fatal(err)
	}
	live.(*corev1.Pod).UID = "uid"
	live.(*corev1.Pod).Status.Phase = corev1.PodPending
	cases := []struct {
		name   string
		mutate func(p *corev1.Pod)
	}{
		{"phase and conditions", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}},
		{"stale spec and labels are ignored", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "other"
			p.Labels = map[string]string{"x": "y"}
			p.Status.PodIP = "10.0.0.1"
		}},
		{"no change", func(p *corev1.Pod) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := live.DeepCopyObject().(*corev1.Pod)
			tc.mutate(next)
			viewed, err := trackUpdate(sv, "status", live, next.DeepCopy(), "kubelet")
			if err != nil {
				t.Fatal(err)
			}
			liveServed, newServed := live.DeepCopyObject(), runtime.Object(next.DeepCopy())
			whole := sv.fields.status.UpdateNoErrors(liveServed, newServed, "kubelet")
			got, want := viewed.(*corev1.Pod).ManagedFields, whole.(*corev1.Pod).ManagedFields
			if len(got) != len(want) {
				t.Fatalf("entries: view %+v, whole %+v", got, want)
			}
			for i := range got {
				g, w := got[i], want[i]
				g.Time, w.Time = nil, nil
				if g.Manager != w.Manager || g.Subresource != w.Subresource || string(g.FieldsV1.Raw) != string(w.FieldsV1.Raw) {
					t.Errorf("entry %d: view %+v %s, whole %+v %s", i, g, g.FieldsV1.Raw, w, w.FieldsV1.Raw)
				}
			}
		})
	}
}

// TestEveryKindHasFieldManager guards that client-go's schema covers every
// served kind, so none silently falls back to untracked apply.
func TestEveryKindHasFieldManager(t *testing.T) {
	s := fieldTestServer(t)
	for key, sv := range s.resources {
		if sv.rest == nil {
			continue
		}
		if sv.fields == nil || sv.fields.main == nil {
			t.Errorf("%s (%s) has no field manager", key, sv.res.GVK())
		}
		if sv.res.HasStatus && sv.fields != nil && sv.fields.status == nil {
			t.Errorf("%s has a status subresource but no status field manager", key)
		}
	}
}
