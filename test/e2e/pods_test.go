package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// boundPod is a pod already assigned to a node, as if a scheduler had bound
// it; deleting it must be graceful because a kubelet may be running it.
func boundPod(ns, name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  nodeName: e2e-virtual-node
  containers:
  - name: main
    image: busybox:1.36
`, name, ns)
}

// testPods covers `kubectl run` defaulting and pod deletion semantics.
func testPods(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-pods")

	t.Run("run-defaults", func(t *testing.T) {
		if out := k.run(t, "-n", ns, "run", pendingOverride, "plain", "--image=nginx"); strings.TrimSpace(out) != "pod/plain created" {
			t.Errorf("run output = %q", out)
		}
		got := k.jsonpath(t, "{.status.phase} {.spec.restartPolicy} {.spec.dnsPolicy} {.spec.terminationGracePeriodSeconds} {.spec.schedulerName} {.spec.serviceAccountName} {.spec.containers[0].imagePullPolicy} {.spec.containers[0].terminationMessagePath} {.spec.containers[0].terminationMessagePolicy} {.metadata.labels.run}",
			"-n", ns, "pod", "plain")
		want := "Pending Always ClusterFirst 30 default-scheduler default Always /dev/termination-log File plain"
		if got != want {
			t.Errorf("pod defaults:\n got %q\nwant %q", got, want)
		}
		if got := k.jsonpath(t, "{.spec.nodeName}", "-n", ns, "pod", "plain"); got != "" {
			t.Errorf("spec.nodeName = %q, want unset (no scheduler)", got)
		}

		for i, tc := range []struct{ image, policy string }{
			{"nginx:latest", "Always"},
			{"busybox:1.36", "IfNotPresent"},
			{"registry.example.com:5000/team/app", "Always"},
			{"busybox@sha256:" + strings.Repeat("ab", 32), "IfNotPresent"},
		} {
			name := fmt.Sprintf("pull-%d", i)
			k.run(t, "-n", ns, "run", pendingOverride, name, "--image="+tc.image)
			if got := k.jsonpath(t, "{.spec.containers[0].imagePullPolicy}", "-n", ns, "pod", name); got != tc.policy {
				t.Errorf("image %s: imagePullPolicy = %q, want %q", tc.image, got, tc.policy)
			}
		}

		k.run(t, "-n", ns, "run", pendingOverride, "once", "--image=busybox:1.36", "--restart=Never", "--", "echo", "hi")
		if got := k.jsonpath(t, "{.spec.restartPolicy} {.spec.containers[0].args}", "-n", ns, "pod", "once"); got != `Never ["echo","hi"]` {
			t.Errorf("run --restart=Never -- echo hi = %q", got)
		}
	})

	t.Run("delete-unbound", func(t *testing.T) {
		k.run(t, "-n", ns, "run", pendingOverride, "gone", "--image=nginx")
		// Without --wait=false kubectl waits until the pod is gone, which
		// only returns because an unbound pod is removed at once.
		out := k.run(t, "-n", ns, "delete", "pod", "gone", "--timeout=60s")
		if strings.TrimSpace(out) != `pod "gone" deleted` {
			t.Errorf("delete output = %q", out)
		}
		stderr := k.fail(t, "-n", ns, "get", "pod", "gone")
		mustContain(t, "get deleted pod", stderr, `pods "gone" not found`)
	})

	t.Run("delete-bound", func(t *testing.T) {
		k.stdin(t, boundPod(ns, "bound"), "create", "-f", "-")
		k.run(t, "-n", ns, "delete", "pod", "bound", "--wait=false")

		got := k.jsonpath(t, "{.metadata.deletionGracePeriodSeconds}", "-n", ns, "pod", "bound")
		if got != "30" {
			t.Errorf("deletionGracePeriodSeconds = %q, want 30", got)
		}
		if ts := k.jsonpath(t, "{.metadata.deletionTimestamp}", "-n", ns, "pod", "bound"); ts == "" {
			t.Errorf("bound pod has no deletionTimestamp after delete")
		}
		out := k.run(t, "-n", ns, "get", "pod", "bound")
		if f := rows(out, 0)["bound"]; len(f) < 3 || f[2] != "Terminating" {
			t.Errorf("STATUS of deleting pod = %q, want Terminating", f)
		}

		// A second graceful delete with a shorter period is allowed.
		k.run(t, "-n", ns, "delete", "pod", "bound", "--wait=false", "--grace-period=5")
		if got := k.jsonpath(t, "{.metadata.deletionGracePeriodSeconds}", "-n", ns, "pod", "bound"); got != "5" {
			t.Errorf("deletionGracePeriodSeconds after shorter delete = %q, want 5", got)
		}

		_, stderr, err := k.exec(t, nil, "", "-n", ns, "delete", "pod", "bound", "--grace-period=0", "--force")
		if err != nil {
			t.Fatalf("force delete: %v\n%s", err, stderr)
		}
		mustContain(t, "force delete warning", stderr, "Immediate deletion does not wait for confirmation")
		stderr = k.fail(t, "-n", ns, "get", "pod", "bound")
		mustContain(t, "get force-deleted pod", stderr, `pods "bound" not found`)
	})
}
