package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// testGenerators runs kubectl's other object generators and mutators, each
// checked by reading back the field it is supposed to set.
func testGenerators(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-gen")
	k.run(t, "-n", ns, "create", "deployment", "api", "--image=nginx:1.27")

	for _, tc := range []struct {
		name   string
		args   []string
		output string   // expected stdout (trimmed)
		query  []string // jsonpath, then get args
		want   string
	}{
		{"job", []string{"create", "job", "once", "--image=busybox:1.36", "--", "echo", "hi"}, "job.batch/once created",
			[]string{"{.spec.template.spec.restartPolicy} {.spec.template.spec.containers[0].command}", "job", "once"}, `Never ["echo","hi"]`},
		{"cronjob", []string{"create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *", "--", "date"}, "cronjob.batch/tick created",
			[]string{"{.spec.schedule} {.spec.concurrencyPolicy}", "cronjob", "tick"}, "*/5 * * * * Allow"},
		{"role", []string{"create", "role", "pod-reader", "--verb=get,list", "--resource=pods"}, "role.rbac.authorization.k8s.io/pod-reader created",
			[]string{"{.rules[0].verbs}", "role", "pod-reader"}, `["get","list"]`},
		{"rolebinding", []string{"create", "rolebinding", "read-pods", "--role=pod-reader", "--user=alice"}, "rolebinding.rbac.authorization.k8s.io/read-pods created",
			[]string{"{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind}/{.subjects[0].name}", "rolebinding", "read-pods"}, "Role/pod-reader User/alice"},
		{"quota", []string{"create", "quota", "small", "--hard=pods=10,requests.cpu=2"}, "resourcequota/small created",
			[]string{"{.spec.hard.pods} {.spec.hard.requests\\.cpu}", "quota", "small"}, "10 2"},
		{"ingress", []string{"create", "ingress", "web", "--rule=shop.example.com/cart*=cart:8080"}, "ingress.networking.k8s.io/web created",
			[]string{"{.spec.rules[0].host} {.spec.rules[0].http.paths[0].pathType} {.spec.rules[0].http.paths[0].backend.service.port.number}", "ingress", "web"}, "shop.example.com Prefix 8080"},
		{"pdb", []string{"create", "pdb", "api", "--selector=app=api", "--min-available=1"}, "poddisruptionbudget.policy/api created",
			[]string{"{.spec.minAvailable} {.spec.selector.matchLabels.app}", "pdb", "api"}, "1 api"},
		{"service-externalname", []string{"create", "service", "externalname", "ext", "--external-name=example.com"}, "service/ext created",
			[]string{"{.spec.type} {.spec.externalName} {.spec.clusterIP}", "service", "ext"}, "ExternalName example.com "},
		{"expose", []string{"expose", "deployment", "api", "--port=80", "--target-port=8080"}, "service/api exposed",
			[]string{"{.spec.selector.app} {.spec.ports[0].port} {.spec.ports[0].targetPort}", "service", "api"}, "api 80 8080"},
		{"set-image", []string{"set", "image", "deployment/api", "nginx=nginx:1.29"}, "deployment.apps/api image updated",
			[]string{"{.spec.template.spec.containers[0].image}", "deployment", "api"}, "nginx:1.29"},
		{"set-env", []string{"set", "env", "deployment/api", "MODE=prod"}, "deployment.apps/api env updated",
			[]string{"{.spec.template.spec.containers[0].env[0].name}={.spec.template.spec.containers[0].env[0].value}", "deployment", "api"}, "MODE=prod"},
		{"rollout-pause", []string{"rollout", "pause", "deployment/api"}, "deployment.apps/api paused",
			[]string{"{.spec.paused}", "deployment", "api"}, "true"},
		{"rollout-resume", []string{"rollout", "resume", "deployment/api"}, "deployment.apps/api resumed",
			[]string{"{.spec.paused}", "deployment", "api"}, ""},
		{"autoscale", []string{"autoscale", "deployment", "api", "--min=2", "--max=4", "--cpu-percent=60"}, "horizontalpodautoscaler.autoscaling/api autoscaled",
			[]string{"{.spec.minReplicas} {.spec.maxReplicas} {.spec.scaleTargetRef.kind}/{.spec.scaleTargetRef.name}", "hpa", "api"}, "2 4 Deployment/api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out := k.run(t, append([]string{"-n", ns}, tc.args...)...); strings.TrimSpace(out) != tc.output {
				t.Errorf("output = %q, want %q", strings.TrimSpace(out), tc.output)
			}
			if got := k.jsonpath(t, tc.query[0], append([]string{"-n", ns}, tc.query[1:]...)...); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.query[0], got, tc.want)
			}
		})
	}

	t.Run("rollout-restart", func(t *testing.T) {
		k.run(t, "-n", ns, "rollout", "restart", "deployment/api")
		if got := k.jsonpath(t, `{.spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}`, "-n", ns, "deployment", "api"); got == "" {
			t.Errorf("rollout restart did not set the restartedAt template annotation")
		}
	})

	t.Run("service-ports", func(t *testing.T) {
		// NodePort and LoadBalancer services get a node port allocated
		// from the default range.
		for _, typ := range []string{"nodeport", "loadbalancer"} {
			k.run(t, "-n", ns, "create", "service", typ, typ, "--tcp=80:8080")
			got := k.jsonpath(t, "{.spec.ports[0].nodePort}", "-n", ns, "service", typ)
			if p, err := strconv.Atoi(got); err != nil || p < 30000 || p > 32767 {
				t.Errorf("%s nodePort = %q, want one in 30000-32767", typ, got)
			}
		}
		out := k.run(t, "-n", ns, "get", "service", "loadbalancer")
		if f := rows(out, 0)["loadbalancer"]; len(f) < 5 || f[1] != "LoadBalancer" || f[3] != "<pending>" || !strings.HasPrefix(f[4], "80:") {
			t.Errorf("loadbalancer row = %q, want TYPE LoadBalancer, EXTERNAL-IP <pending>, PORT(S) 80:<nodePort>/TCP", f)
		}
	})

	t.Run("secrets", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "secret", "docker-registry", "pull", "--docker-server=registry.example.com", "--docker-username=u", "--docker-password=p")
		if got := k.jsonpath(t, "{.type}", "-n", ns, "secret", "pull"); got != "kubernetes.io/dockerconfigjson" {
			t.Errorf("docker-registry secret type = %q", got)
		}
		file := writeFile(t, "app.properties", "color=blue\n")
		k.run(t, "-n", ns, "create", "configmap", "files", "--from-file="+file)
		if got := k.jsonpath(t, `{.data.app\.properties}`, "-n", ns, "configmap", "files"); got != "color=blue\n" {
			t.Errorf("configmap from file = %q", got)
		}
	})

	t.Run("node-taint-cordon", func(t *testing.T) {
		node := "e2e-gen-node"
		k.stdin(t, fmt.Sprintf("apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n", node), "create", "-f", "-")
		t.Cleanup(func() { k.run(t, "delete", "node", node, "--ignore-not-found") })
		if out := k.run(t, "taint", "node", node, "dedicated=gpu:NoSchedule"); strings.TrimSpace(out) != "node/"+node+" tainted" {
			t.Errorf("taint output = %q", out)
		}
		if got := k.jsonpath(t, "{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}", "node", node); got != "dedicated=gpu:NoSchedule" {
			t.Errorf("taint = %q", got)
		}
		k.run(t, "cordon", node)
		if got := k.jsonpath(t, "{.spec.unschedulable}", "node", node); got != "true" {
			t.Errorf("unschedulable after cordon = %q", got)
		}
		k.run(t, "uncordon", node)
		if got := k.jsonpath(t, "{.spec.unschedulable}", "node", node); got != "" {
			t.Errorf("unschedulable after uncordon = %q, want unset", got)
		}
	})
}

// testDryRun covers server-side dry run and `kubectl diff`, which is built
// on it: nothing may be persisted.
func testDryRun(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-dryrun")
	manifest := func(replicas int) string {
		return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: %s\nspec:\n  replicas: %d\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n", ns, replicas)
	}
	k.stdin(t, manifest(2), "apply", "-f", "-")
	rv := k.jsonpath(t, "{.metadata.resourceVersion}", "-n", ns, "deployment", "web")

	changed := writeFile(t, "web.yaml", manifest(7))
	stdout, stderr, err := k.exec(t, nil, "", "diff", "-f", changed)
	if err == nil {
		t.Errorf("kubectl diff exited 0 for a changed object, want 1")
	}
	mustContain(t, "kubectl diff", stdout+stderr, "-  replicas: 2", "+  replicas: 7")
	if out, _, err := k.exec(t, nil, "", "diff", "-f", writeFile(t, "same.yaml", manifest(2))); err != nil || out != "" {
		t.Errorf("kubectl diff of an unchanged object: err=%v out=%q, want exit 0 and no output", err, out)
	}

	out := k.run(t, "apply", "--dry-run=server", "-f", changed)
	if strings.TrimSpace(out) != "deployment.apps/web configured (server dry run)" {
		t.Errorf("apply --dry-run=server output = %q", out)
	}
	if got := k.jsonpath(t, "{.spec.replicas} {.metadata.resourceVersion}", "-n", ns, "deployment", "web"); got != "2 "+rv {
		t.Errorf("after dry-run apply: %q, want replicas 2 and resourceVersion %s unchanged", got, rv)
	}

	yaml := k.run(t, "-n", ns, "create", "configmap", "dry", "--from-literal=a=b", "--dry-run=server", "-o", "yaml")
	mustContain(t, "create --dry-run=server -o yaml", yaml, "name: dry", "uid:", "creationTimestamp:")
	stderr = k.fail(t, "-n", ns, "get", "configmap", "dry")
	mustContain(t, "get dry-run object", stderr, `configmaps "dry" not found`)

	k.run(t, "-n", ns, "delete", "deployment", "web", "--dry-run=server")
	if got := k.jsonpath(t, "{.metadata.name}", "-n", ns, "deployment", "web"); got != "web" {
		t.Errorf("deployment gone after delete --dry-run=server")
	}
}
