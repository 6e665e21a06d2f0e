package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// cascadeTimeout bounds how long the garbage collector and namespace
// controller may take to act; generous for slow shared machines.
const cascadeTimeout = 60 * time.Second

// ownedConfigMaps returns manifests of ConfigMaps owned by the ConfigMap
// owner (with uid), labelled set=<set>; blockOwnerDeletion as given.
func ownedConfigMaps(ns, owner, uid, set string, block bool, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
  namespace: %s
  labels: {set: %s}
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: %s, uid: %s, blockOwnerDeletion: %t}
data: {k: v}
`, n, ns, set, owner, uid, block)
	}
	return b.String()
}

// replicaSet is an RS whose pods never schedule (see pendingOverride), so
// they are deleted at once rather than waiting for a kubelet.
func replicaSet(ns, name string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: %s, namespace: %s}
spec:
  replicas: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      nodeSelector: {e2e.kplane.dev/unschedulable: "true"}
      containers: [{name: c, image: registry.k8s.io/pause:3.10}]
`, name, ns, replicas, name, name)
}

// waitKubectl polls until check accepts `kubectl <args>` output.
func waitKubectl(t *testing.T, k *kubectl, what string, check func(string) bool, args ...string) string {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, cascadeTimeout, true, func(context.Context) (bool, error) {
		out, errOut, err := k.exec(t, nil, "", args...)
		last = out + errOut
		return err == nil && check(out), nil
	})
	if err != nil {
		t.Fatalf("%s: kubectl %s: last output:\n%s", what, strings.Join(args, " "), last)
	}
	return last
}

func count(n int) func(string) bool {
	return func(out string) bool { return len(lines(out)) == n }
}

// TestCascadingDelete runs `kubectl delete --cascade=...` and `kubectl
// delete namespace` against `kplane up`, whose controller manager runs the
// garbage collector, namespace and replicaset controllers.
func TestCascadingDelete(t *testing.T) {
	requireKubectl(t)
	s := startServer(t, t.TempDir())
	k := newKubectl(t, s)

	t.Run("configmaps", func(t *testing.T) {
		t.Parallel()
		ns := k.namespace(t, "cascade-cm")
		for _, mode := range []string{"background", "foreground", "orphan"} {
			owner := "owner-" + mode
			k.run(t, "create", "configmap", owner, "-n", ns, "--from-literal=k=v")
			uid := k.jsonpath(t, "{.metadata.uid}", "configmap", owner, "-n", ns)
			k.stdin(t, ownedConfigMaps(ns, owner, uid, mode, true, mode+"-1", mode+"-2"), "apply", "-f", "-")
			out := k.run(t, "delete", "configmap", owner, "-n", ns, "--cascade="+mode)
			if want := fmt.Sprintf("configmap %q deleted", owner); strings.TrimSpace(out) != want {
				t.Errorf("delete --cascade=%s = %q, want %q", mode, out, want)
			}
			sel := []string{"get", "configmaps", "-n", ns, "-l", "set=" + mode, "-o", "name"}
			switch mode {
			case "background":
				waitKubectl(t, k, "background dependents collected", count(0), sel...)
			case "foreground":
				// kubectl waits for the owner to disappear, and a
				// foreground owner goes only after its blocking
				// dependents: they must already be gone.
				if out := k.run(t, sel...); len(lines(out)) != 0 {
					t.Errorf("foreground: dependents still exist after the owner was deleted:\n%s", out)
				}
			case "orphan":
				if out := k.run(t, sel...); len(lines(out)) != 2 {
					t.Fatalf("orphan: want both dependents kept, got:\n%s", out)
				}
				for _, d := range []string{"orphan-1", "orphan-2"} {
					waitKubectl(t, k, "ownerReferences removed from "+d, func(out string) bool { return strings.TrimSpace(out) == "" },
						"get", "configmap", d, "-n", ns, "-o", "jsonpath={.metadata.ownerReferences}")
				}
			}
		}
	})

	t.Run("replicaset", func(t *testing.T) {
		t.Parallel()
		ns := k.namespace(t, "cascade-rs")
		for _, tc := range []struct {
			name, cascade string
			podsLeft      int
		}{
			{"bg", "background", 0},
			{"fg", "foreground", 0},
			{"or", "orphan", 2},
		} {
			k.stdin(t, replicaSet(ns, tc.name, 2), "apply", "-f", "-")
			pods := []string{"get", "pods", "-n", ns, "-l", "app=" + tc.name, "-o", "name"}
			waitKubectl(t, k, "replicaset "+tc.name+" creates 2 pods", count(2), pods...)
			k.run(t, "delete", "replicaset", tc.name, "-n", ns, "--cascade="+tc.cascade)
			waitKubectl(t, k, fmt.Sprintf("--cascade=%s leaves %d pods", tc.cascade, tc.podsLeft), count(tc.podsLeft), pods...)
			if tc.podsLeft > 0 {
				refs := k.run(t, "get", "pods", "-n", ns, "-l", "app="+tc.name, "-o", "jsonpath={.items[*].metadata.ownerReferences}")
				if strings.TrimSpace(refs) != "" {
					t.Errorf("orphaned pods still have ownerReferences: %s", refs)
				}
			}
		}
	})

	t.Run("namespace", func(t *testing.T) {
		t.Parallel()
		ns := k.namespace(t, "cascade-ns")
		k.run(t, "create", "configmap", "c", "-n", ns, "--from-literal=k=v")
		k.run(t, "create", "secret", "generic", "s", "-n", ns, "--from-literal=k=v")
		k.stdin(t, replicaSet(ns, "web", 2), "apply", "-f", "-")
		waitKubectl(t, k, "replicaset creates 2 pods", count(2), "get", "pods", "-n", ns, "-o", "name")
		// kubectl waits until the namespace is gone.
		out := k.run(t, "delete", "namespace", ns)
		if want := fmt.Sprintf("namespace %q deleted", ns); strings.TrimSpace(out) != want {
			t.Errorf("delete namespace = %q, want %q", out, want)
		}
		stderr := k.fail(t, "get", "namespace", ns)
		mustContain(t, "deleted namespace", stderr, fmt.Sprintf(`namespaces %q not found`, ns))
		for _, kind := range []string{"configmaps", "secrets", "replicasets", "pods"} {
			_, errOut, err := k.exec(t, nil, "", "get", kind, "-n", ns)
			if err != nil || !strings.Contains(errOut, "No resources found in "+ns+" namespace.") {
				t.Errorf("get %s in deleted namespace: err=%v stderr=%q", kind, err, errOut)
			}
		}
	})
}
