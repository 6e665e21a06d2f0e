package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stackFile is the multi-document manifest applied by testApply and
// TestRestart: Namespace, ServiceAccount, ConfigMap, Secret, Deployment,
// Service, HPA (autoscaling/v2) and Lease, all in namespace stackNamespace.
const (
	stackFile      = "testdata/stack.yaml"
	stackNamespace = "e2e-stack"
)

// stackObjects is the `kubectl apply` output for stackFile, in file order.
var stackObjects = []string{
	"namespace/e2e-stack",
	"serviceaccount/web",
	"configmap/web-config",
	"secret/web-secret",
	"deployment.apps/web",
	"service/web",
	"horizontalpodautoscaler.autoscaling/web",
	"lease.coordination.k8s.io/web-leader",
}

// applyResults parses `kubectl apply` output ("kind/name verb" lines) into a
// map from kind/name to verb.
func applyResults(t *testing.T, out string) map[string]string {
	t.Helper()
	res := map[string]string{}
	for _, l := range lines(out) {
		obj, verb, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("unexpected apply output line %q in:\n%s", l, out)
		}
		res[obj] = verb
	}
	return res
}

// testCreate covers `kubectl create -f` and the create generators.
func testCreate(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-create")

	t.Run("file", func(t *testing.T) {
		f := writeFile(t, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-file\ndata:\n  key: value\n")
		if out := k.run(t, "-n", ns, "create", "-f", f); strings.TrimSpace(out) != "configmap/from-file created" {
			t.Errorf("create -f = %q", out)
		}
		if got := k.jsonpath(t, "{.data.key}", "-n", ns, "configmap", "from-file"); got != "value" {
			t.Errorf("data.key = %q, want value", got)
		}
		stderr := k.fail(t, "-n", ns, "create", "-f", f)
		mustContain(t, "create twice", stderr, `Error from server (AlreadyExists)`, `configmaps "from-file" already exists`)
	})

	t.Run("configmap", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "configmap", "cfg", "--from-literal=color=blue", "--from-literal=size=3")
		if got := k.jsonpath(t, "{.data.color},{.data.size}", "-n", ns, "configmap", "cfg"); got != "blue,3" {
			t.Errorf("configmap data = %q, want blue,3", got)
		}
	})

	t.Run("secret", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "secret", "generic", "creds", "--from-literal=password=pw")
		if got := k.jsonpath(t, "{.type} {.data.password}", "-n", ns, "secret", "creds"); got != "Opaque cHc=" {
			t.Errorf("secret = %q, want %q", got, "Opaque cHc=")
		}
	})

	t.Run("namespace", func(t *testing.T) {
		k.namespace(t, "e2e-create-ns")
		if got := k.jsonpath(t, "{.status.phase}", "namespace", "e2e-create-ns"); got != "Active" {
			t.Errorf("namespace phase = %q, want Active", got)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		stderr := k.fail(t, "-n", ns, "create", "-f", writeFile(t, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: empty\nspec:\n  containers: []\n"))
		mustContain(t, "create pod without containers", stderr, `The Pod "empty" is invalid: spec.containers: Required value`)
		stderr = k.fail(t, "-n", ns, "create", "configmap", "Bad_Name")
		mustContain(t, "create configmap with bad name", stderr, `failed to create configmap: ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of`)
	})

	t.Run("replace", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "configmap", "swap", "--from-literal=v=1")
		stale := k.run(t, "-n", ns, "get", "configmap", "swap", "-o", "yaml")
		fresh := strings.Replace(stale, `v: "1"`, `v: "2"`, 1)
		if out := k.stdin(t, fresh, "replace", "-f", "-"); strings.TrimSpace(out) != "configmap/swap replaced" {
			t.Errorf("replace output = %q", out)
		}
		if got := k.jsonpath(t, "{.data.v}", "-n", ns, "configmap", "swap"); got != "2" {
			t.Errorf("data.v after replace = %q, want 2", got)
		}
		// The stale copy still carries the old resourceVersion: conflict.
		_, stderr, err := k.exec(t, nil, stale, "replace", "-f", "-")
		if err == nil {
			t.Fatalf("replace with stale resourceVersion succeeded")
		}
		mustContain(t, "stale replace", stderr, `Error from server (Conflict)`, `Operation cannot be fulfilled on configmaps "swap": the object has been modified; please apply your changes to the latest version and try again`)
	})

	t.Run("deployment", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "deployment", "api", "--image=nginx:1.27", "--replicas=3", "--port=8080")
		got := k.jsonpath(t, "{.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.strategy.type}",
			"-n", ns, "deployment", "api")
		if want := "3 api nginx:1.27 8080 RollingUpdate"; got != want {
			t.Errorf("deployment = %q, want %q", got, want)
		}
	})
}

// testApply applies the multi-document stack with default (strict) client
// validation, re-applies it, changes it, and checks unknown fields fail.
func testApply(t *testing.T, k *kubectl) {
	res := applyResults(t, k.run(t, "apply", "-f", stackFile))
	for _, obj := range stackObjects {
		if res[obj] != "created" {
			t.Errorf("first apply: %s = %q, want created (all: %v)", obj, res[obj], res)
		}
	}
	names := lines(k.run(t, "get", "-f", stackFile, "-o", "name"))
	if len(names) != len(stackObjects) {
		t.Errorf("get -f stack: %q, want %d objects", names, len(stackObjects))
	}
	if got := k.jsonpath(t, "{.spec.replicas} {.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
		"-n", stackNamespace, "deployment", "web"); !strings.HasPrefix(got, "2 {") {
		t.Errorf("deployment replicas and last-applied = %q, want 2 and a JSON annotation", got)
	}
	if got := k.jsonpath(t, "{.data.password}", "-n", stackNamespace, "secret", "web-secret"); got != "czNjcjN0" {
		t.Errorf("secret data.password = %q, want stringData folded into data (czNjcjN0)", got)
	}
	if got := k.jsonpath(t, "{.spec.metrics[0].resource.target.averageUtilization}", "-n", stackNamespace, "hpa", "web"); got != "80" {
		t.Errorf("hpa target utilization = %q, want 80", got)
	}

	// ConfigMaps have no controller writing to them, so any resourceVersion
	// change would come from the re-apply itself.
	rv := k.jsonpath(t, "{.metadata.resourceVersion}", "-n", stackNamespace, "configmap", "web-config")
	res = applyResults(t, k.run(t, "apply", "-f", stackFile))
	for _, obj := range stackObjects {
		want := []string{"unchanged"}
		if obj == "secret/web-secret" {
			// stringData is never stored, so the three-way diff always
			// finds it missing: upstream also reports "configured".
			want = append(want, "configured")
		}
		if !slices.Contains(want, res[obj]) {
			t.Errorf("re-apply: %s = %q, want one of %q", obj, res[obj], want)
		}
	}
	if got := k.jsonpath(t, "{.metadata.resourceVersion}", "-n", stackNamespace, "configmap", "web-config"); got != rv {
		t.Errorf("unchanged re-apply changed the configmap's resourceVersion %s -> %s", rv, got)
	}

	data, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "replicas: 2", "replicas: 4", 1)
	changed = strings.Replace(changed, "greeting: hello", "greeting: bonjour", 1)
	res = applyResults(t, k.run(t, "apply", "-f", writeFile(t, "stack.yaml", changed)))
	for obj, want := range map[string]string{"deployment.apps/web": "configured", "configmap/web-config": "configured", "service/web": "unchanged"} {
		if res[obj] != want {
			t.Errorf("apply changed stack: %s = %q, want %q", obj, res[obj], want)
		}
	}
	if got := k.jsonpath(t, "{.spec.replicas}", "-n", stackNamespace, "deployment", "web"); got != "4" {
		t.Errorf("deployment replicas after apply = %s, want 4", got)
	}
	if got := k.jsonpath(t, "{.data.greeting}", "-n", stackNamespace, "configmap", "web-config"); got != "bonjour" {
		t.Errorf("configmap greeting after apply = %s, want bonjour", got)
	}

	t.Run("unknown-field", func(t *testing.T) {
		for _, tc := range []struct {
			name, manifest, field string
		}{
			{
				name:     "top-level",
				manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: default\ndata:\n  a: b\nbogusField: 1\n",
				field:    `ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogusField"`,
			},
			{
				name: "nested",
				manifest: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
  namespace: default
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers:
      - name: c
        image: nginx
        imagePullPolicyy: Always
`,
				field: `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy"`,
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := writeFile(t, "bad.yaml", tc.manifest)
				for _, verb := range []string{"apply", "create"} {
					stderr := k.fail(t, verb, "-f", f)
					mustContain(t, verb+" with unknown field", stderr, "Error from server (BadRequest)", tc.field)
				}
				if _, stderr, err := k.exec(t, nil, "", "get", "-f", f); err == nil || !strings.Contains(stderr, "NotFound") {
					t.Errorf("object with unknown field was stored (err=%v, stderr=%q)", err, stderr)
				}
			})
		}

		// Applying to an existing object goes through a strategic merge
		// patch, which must reject unknown fields too.
		t.Run("existing", func(t *testing.T) {
			rv := k.jsonpath(t, "{.metadata.resourceVersion}", "-n", stackNamespace, "configmap", "web-config")
			f := writeFile(t, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: "+stackNamespace+"\ndata:\n  greeting: hola\nbogusField: 1\n")
			stderr := k.fail(t, "apply", "-f", f)
			mustContain(t, "apply unknown field to existing object", stderr, "strict decoding error", `unknown field "bogusField"`)
			if got := k.jsonpath(t, "{.metadata.resourceVersion} {.data.greeting}", "-n", stackNamespace, "configmap", "web-config"); got != rv+" bonjour" {
				t.Errorf("configmap after rejected apply = %q, want unchanged %q", got, rv+" bonjour")
			}
		})
	})
}

// testServerSideApply covers `kubectl apply --server-side`: field ownership,
// conflicts between managers and --force-conflicts.
func testServerSideApply(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-ssa")
	manifest := func(owner string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  namespace: " + ns + "\ndata:\n  owner: " + owner + "\n"
	}
	first := writeFile(t, "first.yaml", manifest("first"))
	for i := range 2 {
		if out := k.run(t, "apply", "--server-side", "-f", first); strings.TrimSpace(out) != "configmap/owned serverside-applied" {
			t.Errorf("server-side apply #%d output = %q", i+1, out)
		}
	}
	if got := k.jsonpath(t, "{.metadata.managedFields[*].manager} {.metadata.managedFields[*].operation}", "-n", ns, "configmap", "owned"); got != "kubectl Apply" {
		t.Errorf("managedFields manager/operation = %q, want kubectl Apply", got)
	}

	second := writeFile(t, "second.yaml", manifest("second"))
	stderr := k.fail(t, "apply", "--server-side", "--field-manager=other", "-f", second)
	mustContain(t, "conflicting server-side apply", stderr, `Apply failed with 1 conflict: conflict with "kubectl": .data.owner`, "--force-conflicts")
	if got := k.jsonpath(t, "{.data.owner}", "-n", ns, "configmap", "owned"); got != "first" {
		t.Errorf("data.owner after conflict = %q, want first", got)
	}

	k.run(t, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", second)
	if got := k.jsonpath(t, "{.data.owner} {.metadata.managedFields[*].manager}", "-n", ns, "configmap", "owned"); got != "second other" {
		t.Errorf("after --force-conflicts: owner and managers = %q, want %q", got, "second other")
	}
}

// testEdit runs `kubectl edit` with KUBE_EDITOR set to a sed script.
func testEdit(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-edit")
	k.run(t, "-n", ns, "create", "configmap", "settings", "--from-literal=mode=slow")
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	script := "#!/bin/sh\nsed -i 's/mode: slow/mode: fast/' \"$1\"\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	out := k.runEnv(t, []string{"KUBE_EDITOR=" + editor}, "-n", ns, "edit", "configmap", "settings")
	if strings.TrimSpace(out) != "configmap/settings edited" {
		t.Errorf("edit output = %q, want configmap/settings edited", out)
	}
	if got := k.jsonpath(t, "{.data.mode}", "-n", ns, "configmap", "settings"); got != "fast" {
		t.Errorf("data.mode after edit = %q, want fast", got)
	}

	// Running the same script again changes nothing: kubectl cancels.
	out, stderr, err := k.exec(t, []string{"EDITOR=" + editor}, "", "-n", ns, "edit", "configmap", "settings")
	if err != nil || !strings.Contains(out+stderr, "Edit cancelled, no changes made.") {
		t.Errorf("no-op edit: err=%v stdout=%q stderr=%q, want Edit cancelled", err, out, stderr)
	}
}

// testPatch covers JSON, merge and strategic merge patches.
func testPatch(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-patch")
	k.run(t, "-n", ns, "create", "configmap", "cm", "--from-literal=a=1", "--from-literal=b=2")
	k.run(t, "-n", ns, "create", "deployment", "app", "--image=nginx:1.27", "--port=80")

	for _, tc := range []struct {
		name  string
		args  []string
		query []string
		want  string
	}{
		{
			name:  "merge",
			args:  []string{"configmap", "cm", "--type=merge", "-p", `{"data":{"b":null,"c":"3"}}`},
			query: []string{"{.data}", "configmap", "cm"},
			want:  `{"a":"1","c":"3"}`,
		},
		{
			name:  "json",
			args:  []string{"configmap", "cm", "--type=json", "-p", `[{"op":"replace","path":"/data/a","value":"10"},{"op":"add","path":"/data/d","value":"4"}]`},
			query: []string{"{.data}", "configmap", "cm"},
			want:  `{"a":"10","c":"3","d":"4"}`,
		},
		{
			// Strategic merge patches merge containers by name, keeping
			// the fields the patch does not mention (ports).
			name:  "strategic",
			args:  []string{"deployment", "app", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}`},
			query: []string{`{range .spec.template.spec.containers[*]}{.name} {.image} {.ports[0].containerPort};{end}`, "deployment", "app"},
			want:  "nginx nginx:1.28 80;",
		},
		{
			name:  "strategic-default",
			args:  []string{"deployment", "app", "--type=strategic", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}`},
			query: []string{`{range .spec.template.spec.containers[*]}{.name} {.image};{end}`, "deployment", "app"},
			want:  "sidecar busybox:1.36;nginx nginx:1.28;",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := k.run(t, append([]string{"-n", ns, "patch"}, tc.args...)...)
			if !strings.HasSuffix(strings.TrimSpace(out), " patched") {
				t.Errorf("patch output = %q, want ... patched", out)
			}
			if got := k.jsonpath(t, tc.query[0], append([]string{"-n", ns}, tc.query[1:]...)...); got != tc.want {
				t.Errorf("after patch = %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		stderr := k.fail(t, "-n", ns, "patch", "configmap", "cm", "--type=json", "-p", `[{"op":"replace","path":"/data/missing","value":"x"}]`)
		mustContain(t, "json patch on missing path", stderr, "The request is invalid")
		stderr = k.fail(t, "-n", ns, "patch", "deployment", "app", "--type=merge", "-p", `{"spec":{"replicas":-1}}`)
		mustContain(t, "invalid replicas", stderr, `The Deployment "app" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0`)
	})
}
