package e2e

import (
	"slices"
	"strings"
	"testing"
)

// testLabelAnnotate covers `kubectl label` and `kubectl annotate`: adding,
// refusing to overwrite, --overwrite and removal with key-.
func testLabelAnnotate(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-meta")
	k.run(t, "-n", ns, "create", "configmap", "cm")

	for _, tc := range []struct {
		verb, field, done, removed string
	}{
		{verb: "label", field: "labels", done: "labeled", removed: "unlabeled"},
		{verb: "annotate", field: "annotations", done: "annotated", removed: "annotated"},
	} {
		t.Run(tc.verb, func(t *testing.T) {
			get := func() string {
				return k.jsonpath(t, "{.metadata."+tc.field+"}", "-n", ns, "configmap", "cm")
			}
			want := func(out, verb string) {
				t.Helper()
				if strings.TrimSpace(out) != "configmap/cm "+verb {
					t.Errorf("output = %q, want configmap/cm %s", out, verb)
				}
			}
			want(k.run(t, "-n", ns, tc.verb, "configmap", "cm", "tier=web", "owner=team-a"), tc.done)
			if got := get(); got != `{"owner":"team-a","tier":"web"}` {
				t.Errorf("%s = %s, want owner=team-a,tier=web", tc.field, got)
			}

			stderr := k.fail(t, "-n", ns, tc.verb, "configmap", "cm", "tier=db")
			mustContain(t, tc.verb+" without --overwrite", stderr, "'tier' already has a value (web)", "--overwrite is false")

			want(k.run(t, "-n", ns, tc.verb, "--overwrite", "configmap", "cm", "tier=db"), tc.done)
			if got := get(); got != `{"owner":"team-a","tier":"db"}` {
				t.Errorf("%s after --overwrite = %s, want tier=db", tc.field, got)
			}

			want(k.run(t, "-n", ns, tc.verb, "configmap", "cm", "tier-"), tc.removed)
			if got := get(); got != `{"owner":"team-a"}` {
				t.Errorf("%s after tier- = %s, want only owner", tc.field, got)
			}
		})
	}

	t.Run("label-selects", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "configmap", "other")
		k.run(t, "-n", ns, "label", "configmap", "--all", "batch=1")
		got := lines(k.run(t, "-n", ns, "get", "configmaps", "-l", "batch=1", "-o", "name"))
		for _, want := range []string{"configmap/cm", "configmap/other"} {
			if !slices.Contains(got, want) {
				t.Errorf("-l batch=1 = %q, missing %q", got, want)
			}
		}
	})
}

// testScale covers `kubectl scale` through the deployment scale subresource.
func testScale(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-scale")
	k.run(t, "-n", ns, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=1")

	if out := k.run(t, "-n", ns, "scale", "deployment", "web", "--replicas=5"); strings.TrimSpace(out) != "deployment.apps/web scaled" {
		t.Errorf("scale output = %q", out)
	}
	if got := k.jsonpath(t, "{.spec.replicas}", "-n", ns, "deployment", "web"); got != "5" {
		t.Errorf("spec.replicas = %s, want 5", got)
	}
	out := k.run(t, "-n", ns, "get", "deployment", "web")
	if f := rows(out, 0)["web"]; len(f) < 2 || !strings.HasSuffix(f[1], "/5") {
		t.Errorf("READY column = %q, want <ready>/5", f)
	}

	stderr := k.fail(t, "-n", ns, "scale", "deployment", "web", "--current-replicas=2", "--replicas=3")
	mustContain(t, "scale with wrong --current-replicas", stderr, "Expected replicas to be 2, was 5")
	if got := k.jsonpath(t, "{.spec.replicas}", "-n", ns, "deployment", "web"); got != "5" {
		t.Errorf("spec.replicas after failed scale = %s, want 5", got)
	}

	k.run(t, "-n", ns, "scale", "deployment", "web", "--current-replicas=5", "--replicas=0")
	if got := k.jsonpath(t, "{.spec.replicas}", "-n", ns, "deployment", "web"); got != "0" {
		t.Errorf("spec.replicas = %s, want 0", got)
	}
}

// testDelete covers `kubectl delete` by name, with --all and with -l.
func testDelete(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-delete")
	for _, name := range []string{"a", "b", "c", "d"} {
		k.run(t, "-n", ns, "create", "configmap", name)
	}
	k.run(t, "-n", ns, "label", "configmap", "c", "d", "doomed=yes")

	names := func() []string {
		return lines(k.run(t, "-n", ns, "get", "configmaps", "-o", "name"))
	}

	if out := k.run(t, "-n", ns, "delete", "configmap", "a"); strings.TrimSpace(out) != `configmap "a" deleted` {
		t.Errorf("delete by name output = %q", out)
	}
	stderr := k.fail(t, "-n", ns, "get", "configmap", "a")
	mustContain(t, "get after delete", stderr, `configmaps "a" not found`)

	out := k.run(t, "-n", ns, "delete", "configmaps", "-l", "doomed=yes")
	mustContain(t, "delete -l", out, `configmap "c" deleted`, `configmap "d" deleted`)
	if got := names(); !slices.Contains(got, "configmap/b") || slices.Contains(got, "configmap/c") || slices.Contains(got, "configmap/d") {
		t.Errorf("after delete -l: %q, want configmap/b kept and c, d gone", got)
	}

	out = k.run(t, "-n", ns, "delete", "configmaps", "--all")
	mustContain(t, "delete --all", out, `configmap "b" deleted`)
	// Only this test's objects are checked: a future root-CA publisher may
	// recreate kube-root-ca.crt at any time.
	if got := names(); slices.Contains(got, "configmap/b") {
		t.Errorf("after delete --all: %q, want configmap/b gone", got)
	}

	stderr = k.fail(t, "-n", ns, "delete", "configmap", "missing")
	mustContain(t, "delete missing", stderr, `Error from server (NotFound): configmaps "missing" not found`)
	k.run(t, "-n", ns, "delete", "configmap", "missing", "--ignore-not-found")

	// A finalizer holds a deleted object until it is removed.
	k.run(t, "-n", ns, "create", "configmap", "held")
	k.run(t, "-n", ns, "patch", "configmap", "held", "--type=merge", "-p", `{"metadata":{"finalizers":["e2e.kplane.dev/hold"]}}`)
	k.run(t, "-n", ns, "delete", "configmap", "held", "--wait=false")
	if got := k.jsonpath(t, "{.metadata.finalizers[0]} {.metadata.deletionGracePeriodSeconds}", "-n", ns, "configmap", "held"); got != "e2e.kplane.dev/hold 0" {
		t.Errorf("deleted object with finalizer: %q, want it kept with its finalizer and grace period 0", got)
	}
	if ts := k.jsonpath(t, "{.metadata.deletionTimestamp}", "-n", ns, "configmap", "held"); ts == "" {
		t.Errorf("deleted object with finalizer has no deletionTimestamp")
	}
	k.run(t, "-n", ns, "patch", "configmap", "held", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
	stderr = k.fail(t, "-n", ns, "get", "configmap", "held")
	mustContain(t, "get after finalizer removed", stderr, `configmaps "held" not found`)

	// Deleting a namespace marks it Terminating until a namespace
	// controller (if one runs) has emptied and removed it.
	out = k.run(t, "delete", "namespace", ns, "--wait=false")
	mustContain(t, "delete namespace", out, `namespace "`+ns+`" deleted`)
	phase, stderr, err := k.exec(t, nil, "", "get", "namespace", ns, "-o", "jsonpath={.status.phase}")
	if err != nil && !strings.Contains(stderr, "NotFound") {
		t.Errorf("get deleted namespace: %v: %s", err, stderr)
	} else if err == nil && phase != "Terminating" {
		t.Errorf("namespace phase after delete = %q, want Terminating", phase)
	}
}
