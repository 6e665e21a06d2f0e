package apiserver_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"kplane/internal/controlplane"
	"kplane/internal/kubectltest"
)

// deploymentApply is the apply configuration of a one-container deployment.
func deploymentApply(ns, name string, replicas int32) *appsv1ac.DeploymentApplyConfiguration {
	labels := map[string]string{"app": name}
	return appsv1ac.Deployment(name, ns).
		WithLabels(labels).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(labels)).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(labels).
				WithSpec(corev1ac.PodSpec().WithContainers(
					corev1ac.Container().WithName("web").WithImage("nginx:1.27")))))
}

// managerEntry finds the managedFields entry of manager and subresource.
func managerEntry(obj metav1.Object, manager, subresource string) (metav1.ManagedFieldsEntry, bool) {
	for _, e := range obj.GetManagedFields() {
		if e.Manager == manager && e.Subresource == subresource {
			return e, true
		}
	}
	return metav1.ManagedFieldsEntry{}, false
}

// owns reports whether manager's entry names the field path (e.g.
// `"f:spec":{"f:replicas"`), checked on the raw fieldsV1 JSON.
func owns(obj metav1.Object, manager, subresource, fieldsJSON string) bool {
	e, ok := managerEntry(obj, manager, subresource)
	if !ok || e.FieldsV1 == nil {
		return false
	}
	return strings.Contains(string(e.FieldsV1.Raw), fieldsJSON)
}

func TestServerSideApplyClientGo(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	cs, _ := adminClientset(t, cp)
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	const ns, name = "default", "ssa"
	deps := cs.AppsV1().Deployments(ns)

	created, err := deps.Apply(ctx, deploymentApply(ns, name, 1), metav1.ApplyOptions{FieldManager: "alpha"})
	if err != nil {
		t.Fatalf("apply create: %v", err)
	}
	if e, ok := managerEntry(created, "alpha", ""); !ok || e.Operation != metav1.ManagedFieldsOperationApply || e.APIVersion != "apps/v1" || e.Time == nil {
		t.Fatalf("managedFields after apply create = %+v, want an Apply entry of alpha at apps/v1", created.ManagedFields)
	}
	if !owns(created, "alpha", "", `"f:replicas"`) || owns(created, "alpha", "", `"f:progressDeadlineSeconds"`) {
		t.Errorf("alpha should own spec.replicas but not the defaulted progressDeadlineSeconds: %s", created.ManagedFields[0].FieldsV1.Raw)
	}
	if created.Spec.ProgressDeadlineSeconds == nil || *created.Spec.ProgressDeadlineSeconds != 600 {
		t.Errorf("applied deployment was not defaulted: progressDeadlineSeconds=%v", created.Spec.ProgressDeadlineSeconds)
	}

	again, err := deps.Apply(ctx, deploymentApply(ns, name, 1), metav1.ApplyOptions{FieldManager: "alpha"})
	if err != nil {
		t.Fatalf("re-apply: %v", err)
	}
	if again.ResourceVersion != created.ResourceVersion {
		t.Errorf("unchanged re-apply wrote: resourceVersion %s -> %s", created.ResourceVersion, again.ResourceVersion)
	}

	_, err = deps.Apply(ctx, deploymentApply(ns, name, 3), metav1.ApplyOptions{FieldManager: "beta"})
	assertApplyConflict(t, err, `Apply failed with 1 conflict: conflict with "alpha": .spec.replicas`, `conflict with "alpha"`, ".spec.replicas")

	forced, err := deps.Apply(ctx, deploymentApply(ns, name, 3), metav1.ApplyOptions{FieldManager: "beta", Force: true})
	if err != nil {
		t.Fatalf("forced apply: %v", err)
	}
	if *forced.Spec.Replicas != 3 || !owns(forced, "beta", "", `"f:replicas"`) || owns(forced, "alpha", "", `"f:replicas"`) {
		t.Fatalf("forced apply: replicas=%d managedFields=%+v, want beta to own replicas=3", *forced.Spec.Replicas, forced.ManagedFields)
	}

	// A plain update by another manager takes the field; applying a
	// different value then conflicts with that Update entry.
	forced.Spec.Replicas = ptr(int32(4))
	updated, err := deps.Update(ctx, forced, metav1.UpdateOptions{FieldManager: "scaler"})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	e, ok := managerEntry(updated, "scaler", "")
	if !ok || e.Operation != metav1.ManagedFieldsOperationUpdate || !owns(updated, "scaler", "", `"f:replicas"`) {
		t.Fatalf("managedFields after update = %+v, want an Update entry of scaler owning replicas", updated.ManagedFields)
	}
	_, err = deps.Apply(ctx, deploymentApply(ns, name, 5), metav1.ApplyOptions{FieldManager: "beta"})
	assertApplyConflict(t, err, `Apply failed with 1 conflict: conflict with "scaler" using apps/v1: .spec.replicas`, `conflict with "scaler" using apps/v1`, ".spec.replicas")

	// Applying the value the other manager set is not a conflict: both own it.
	shared, err := deps.Apply(ctx, deploymentApply(ns, name, 4), metav1.ApplyOptions{FieldManager: "beta"})
	if err != nil {
		t.Fatalf("apply of the same value: %v", err)
	}
	if !owns(shared, "beta", "", `"f:replicas"`) || !owns(shared, "scaler", "", `"f:replicas"`) {
		t.Errorf("replicas should be shared by beta and scaler: %+v", shared.ManagedFields)
	}
}

func assertApplyConflict(t *testing.T, err error, message, causeMessage, causeField string) {
	t.Helper()
	if !apierrors.IsConflict(err) {
		t.Fatalf("apply error = %v, want 409 Conflict", err)
	}
	st := err.(apierrors.APIStatus).Status()
	if st.Message != message {
		t.Errorf("conflict message = %q, want %q", st.Message, message)
	}
	if st.Details == nil || len(st.Details.Causes) != 1 {
		t.Fatalf("conflict details = %+v, want one cause", st.Details)
	}
	c := st.Details.Causes[0]
	if c.Type != metav1.CauseTypeFieldManagerConflict || c.Message != causeMessage || c.Field != causeField {
		t.Errorf("conflict cause = %+v, want %s %q %s", c, metav1.CauseTypeFieldManagerConflict, causeMessage, causeField)
	}
}

func ptr[T any](v T) *T { return &v }

// TestManagedFieldsOnWrites checks the Update entries that create, update,
// patch and status writes leave, and the manager derived from the
// User-Agent when no fieldManager is given.
func TestManagedFieldsOnWrites(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	_, cfg := adminClientset(t, cp)
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	client := func(ua string) *kubernetes.Clientset {
		c := rest.CopyConfig(cfg)
		c.UserAgent = ua
		cs, err := kubernetes.NewForConfig(c)
		if err != nil {
			t.Fatalf("clientset: %v", err)
		}
		return cs
	}
	cmName := func(i int) string { return "cm-" + string(rune('a'+i)) }
	cases := []struct {
		name        string
		ua          string
		write       func(cs *kubernetes.Clientset, name string) (metav1.Object, error)
		manager     string
		subresource string
		owned       string
		// untracked: upstream does not start tracking an existing object
		// with no managedFields on a non-apply update.
		untracked bool
	}{
		{
			name: "create with fieldManager",
			write: func(cs *kubernetes.Clientset, name string) (metav1.Object, error) {
				return cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{FieldManager: "creator"})
			},
			manager: "creator", owned: `"f:data":{".":{},"f:k":{}}`,
		},
		{
			name: "create named by User-Agent",
			ua:   "my-operator/v1.2.3 (linux/amd64) kubernetes/abcdef",
			write: func(cs *kubernetes.Clientset, name string) (metav1.Object, error) {
				return cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{})
			},
			manager: "my-operator", owned: `"f:k"`,
		},
		{
			name: "update",
			write: func(cs *kubernetes.Clientset, name string) (metav1.Object, error) {
				cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{FieldManager: "creator"})
				if err != nil {
					return nil, err
				}
				cm.Data["added"] = "1"
				return cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "editor"})
			},
			manager: "editor", owned: `"f:added"`,
		},
		{
			name: "update of an untracked object",
			write: func(cs *kubernetes.Clientset, name string) (metav1.Object, error) {
				cm, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{FieldManager: "creator"})
				if err != nil {
					return nil, err
				}
				if len(cm.ManagedFields) != 0 {
					t.Errorf("create owning nothing left managedFields %+v", cm.ManagedFields)
				}
				cm.Data = map[string]string{"added": "1"}
				return cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "editor"})
			},
			untracked: true,
		},
		{
			name: "merge patch",
			write: func(cs *kubernetes.Clientset, name string) (metav1.Object, error) {
				if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": "v"}}, metav1.CreateOptions{FieldManager: "creator"}); err != nil {
					return nil, err
				}
				return cs.CoreV1().ConfigMaps("default").Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"x"}}}`), metav1.PatchOptions{FieldManager: "labeler"})
			},
			manager: "labeler", owned: `"f:labels":{".":{},"f:team":{}}`,
		},
		{
			name: "status update",
			write: func(cs *kubernetes.Clientset, name string) (metav1.Object, error) {
				pod, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{FieldManager: "creator"})
				if err != nil {
					return nil, err
				}
				pod.Status.Phase = corev1.PodRunning
				return cs.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{FieldManager: "kubelet"})
			},
			manager: "kubelet", subresource: "status", owned: `"f:phase"`,
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ua := tc.ua
			if ua == "" {
				ua = "kplane-test"
			}
			obj, err := tc.write(client(ua), cmName(i))
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if tc.untracked {
				if len(obj.GetManagedFields()) != 0 {
					t.Fatalf("managedFields = %+v, want none", obj.GetManagedFields())
				}
				return
			}
			e, ok := managerEntry(obj, tc.manager, tc.subresource)
			if !ok {
				t.Fatalf("no managedFields entry for %q/%q in %+v", tc.manager, tc.subresource, obj.GetManagedFields())
			}
			if e.Operation != metav1.ManagedFieldsOperationUpdate || e.Time == nil || e.FieldsType != "FieldsV1" {
				t.Errorf("entry = %+v, want operation Update with a time and FieldsV1", e)
			}
			if !owns(obj, tc.manager, tc.subresource, tc.owned) {
				t.Errorf("%s does not own %s: %s", tc.manager, tc.owned, e.FieldsV1.Raw)
			}
		})
	}
}

// TestApplyOptionsValidation checks the PatchOptions rules: apply needs a
// fieldManager, force is for apply only.
func TestApplyOptionsValidation(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	c := httpClient(cp, adminCert(t, cp))
	base := cp.URL() + "/api/v1/namespaces/default/configmaps/opts"
	cases := []struct {
		name, query, contentType, body string
		code                           int
		message                        string
	}{
		{"apply without fieldManager", "", "application/apply-patch+yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opts\n", 422,
			`PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`},
		{"force on merge patch", "?force=true", "application/merge-patch+json", `{"data":{"a":"b"}}`, 422,
			`PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`},
		{"apply of wrong version", "?fieldManager=m", "application/apply-patch+yaml", "apiVersion: v2\nkind: ConfigMap\nmetadata:\n  name: opts\n", 400,
			"invalid object type: /v2, Kind=ConfigMap"},
		{"apply of an undeclared field", "?fieldManager=m", "application/apply-patch+yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opts\n  namespace: default\nspec: {}\n", 400,
			"failed to create typed patch object (default/opts; /v1, Kind=ConfigMap): .spec: field not declared in schema"},
		{"apply with managedFields", "?fieldManager=m", "application/apply-patch+yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: opts\n  managedFields: []\n", 400,
			"metadata.managedFields must be nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, c, "PATCH", base+tc.query, []byte(tc.body), map[string]string{"Content-Type": tc.contentType})
			if resp.code != tc.code || resp.status().Message != tc.message {
				t.Errorf("got %d %q, want %d %q", resp.code, resp.status().Message, tc.code, tc.message)
			}
		})
	}
}

// kubectl runs the kubectl binary against the control plane.
func kubectl(t *testing.T, bin, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestServerSideApplyKubectl drives apply with the real kubectl: server-side
// create and re-apply, a conflict between managers, --force-conflicts, and
// the move of a client-side applied object to server-side apply.
func TestServerSideApplyKubectl(t *testing.T) {
	bin, err := kubectltest.Path()
	if err != nil {
		t.Fatal(err)
	}
	cp := startControlPlane(t, controlplane.Config{})
	cs, _ := adminClientset(t, cp)
	dir := t.TempDir()
	manifest := func(name string, replicas int) string {
		p := filepath.Join(dir, name+".yaml")
		y := strings.ReplaceAll(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
  namespace: default
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: NAME}
  template:
    metadata:
      labels: {app: NAME}
    spec:
      containers:
      - name: web
        image: nginx:1.27
`, "NAME", name)
		y = strings.ReplaceAll(y, "REPLICAS", string(rune('0'+replicas)))
		if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := kubectl(t, bin, cp.Kubeconfig, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), itTimeout)
	defer cancel()
	get := func(name string) *appsv1.Deployment {
		t.Helper()
		d, err := cs.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		return d
	}

	t.Run("server-side apply, conflict, force", func(t *testing.T) {
		if out := run("apply", "--server-side", "-f", manifest("web", 1)); !strings.Contains(out, "deployment.apps/web serverside-applied") {
			t.Errorf("apply output = %q", out)
		}
		rv := get("web").ResourceVersion
		run("apply", "--server-side", "-f", manifest("web", 1))
		if got := get("web").ResourceVersion; got != rv {
			t.Errorf("unchanged re-apply wrote: resourceVersion %s -> %s", rv, got)
		}
		yml := run("get", "deployment", "web", "-o", "yaml", "--show-managed-fields")
		if !strings.Contains(yml, "manager: kubectl") || !strings.Contains(yml, "operation: Apply") {
			t.Errorf("--show-managed-fields output lacks kubectl's Apply entry:\n%s", yml)
		}
		out, err := kubectl(t, bin, cp.Kubeconfig, "apply", "--server-side", "--field-manager=other", "-f", manifest("web", 3))
		if err == nil || !strings.Contains(out, `conflict with "kubectl": .spec.replicas`) {
			t.Fatalf("apply by another manager: err=%v output:\n%s", err, out)
		}
		run("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", manifest("web", 3))
		d := get("web")
		if *d.Spec.Replicas != 3 || !owns(d, "other", "", `"f:replicas"`) || owns(d, "kubectl", "", `"f:replicas"`) {
			t.Errorf("after --force-conflicts replicas=%d managedFields=%+v", *d.Spec.Replicas, d.ManagedFields)
		}
	})

	t.Run("client-side apply then server-side", func(t *testing.T) {
		p := manifest("csa", 2)
		run("apply", "-f", p)
		d := get("csa")
		if !owns(d, "kubectl-client-side-apply", "", `"f:replicas"`) {
			t.Fatalf("client-side apply should leave an Update entry of kubectl-client-side-apply: %+v", d.ManagedFields)
		}
		// kubectl moves its client-side ownership to its server-side
		// manager itself (a JSON patch of managedFields) before applying,
		// so the same manifest applies without conflict.
		run("apply", "--server-side", "-f", p)
		d = get("csa")
		if !owns(d, "kubectl", "", `"f:replicas"`) {
			t.Errorf("after the server-side apply kubectl should own replicas: %+v", d.ManagedFields)
		}
		if e, ok := managerEntry(d, "kubectl", ""); !ok || e.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("kubectl entry = %+v, want an Apply entry", e)
		}
		if _, ok := managerEntry(d, "kubectl-client-side-apply", ""); ok {
			t.Errorf("kubectl-client-side-apply entry should have been migrated away: %+v", d.ManagedFields)
		}
		// The server keeps the last-applied annotation in step with a
		// server-side apply, so a later client-side apply still diffs right.
		if _, ok := d.Annotations[corev1.LastAppliedConfigAnnotation]; !ok {
			t.Errorf("last-applied annotation dropped: %v", d.Annotations)
		}
		var last map[string]any
		if err := json.Unmarshal([]byte(d.Annotations[corev1.LastAppliedConfigAnnotation]), &last); err != nil {
			t.Errorf("last-applied annotation is not JSON: %v", err)
		}
	})
}
