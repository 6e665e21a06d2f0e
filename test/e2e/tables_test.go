package e2e

import (
	"fmt"
	"net"
	"regexp"
	"testing"
)

// tableObjects creates one object of each kind whose server-side Table
// columns testTables checks. Nodes are plain API objects here: no kubelet
// runs, so the test writes the status a kubelet would report.
func tableObjects(ns string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Node
metadata:
  name: e2e-node-1
  labels:
    node-role.kubernetes.io/worker: ""
spec:
  unschedulable: true
status:
  addresses:
  - type: InternalIP
    address: 10.0.0.7
  conditions:
  - type: Ready
    status: "True"
    reason: KubeletReady
    message: kubelet is posting ready status
  nodeInfo:
    kubeletVersion: v1.37.2
    osImage: Debian GNU/Linux 13
    kernelVersion: 6.12.0
    containerRuntimeVersion: containerd://2.1.0
    architecture: amd64
    operatingSystem: linux
    bootID: ""
    machineID: ""
    systemUUID: ""
    kubeProxyVersion: ""
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: rs
  namespace: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: rs}
  template:
    metadata:
      labels: {app: rs}
    spec:
      containers:
      - name: main
        image: busybox:1.36
---
apiVersion: v1
kind: Event
metadata:
  name: pod-x.1
  namespace: %[1]s
involvedObject:
  apiVersion: v1
  kind: Pod
  name: pod-x
  namespace: %[1]s
reason: BackOff
message: Back-off restarting failed container
type: Warning
count: 3
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:05:00Z"
source:
  component: kubelet
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: leader
  namespace: %[1]s
spec:
  holderIdentity: replica-0
  leaseDurationSeconds: 15
`, ns)
}

// testTables checks that every printed kind gets upstream's server-side Table
// columns, in normal and wide output, and that cells hold the right values.
func testTables(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-tables")
	k.stdin(t, tableObjects(ns), "apply", "-f", "-")
	t.Cleanup(func() { k.run(t, "delete", "node", "e2e-node-1", "--ignore-not-found") })
	k.run(t, "-n", ns, "create", "deployment", "dep", "--image=nginx:1.27", "--replicas=2")
	k.run(t, "-n", ns, "create", "service", "clusterip", "svc", "--tcp=80:8080")

	for _, tc := range []struct {
		resource string
		name     string // key of the row to check (first column; see key)
		key      int    // column holding name
		header   string
		wide     string
		check    func(t *testing.T, row []string)
	}{
		{
			resource: "namespaces", name: ns,
			header: "NAME STATUS AGE",
			wide:   "NAME STATUS AGE",
			check:  cells(1, "Active"),
		},
		{
			resource: "nodes", name: "e2e-node-1",
			header: "NAME STATUS ROLES AGE VERSION",
			wide:   "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME",
			check:  cells(1, "Ready,SchedulingDisabled", "worker", "", "v1.37.2"),
		},
		{
			resource: "deployments", name: "dep",
			header: "NAME READY UP-TO-DATE AVAILABLE AGE",
			wide:   "NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR",
			check:  counts(`^\d+/2$`, `^\d+$`, `^\d+$`),
		},
		{
			resource: "replicasets", name: "rs",
			header: "NAME DESIRED CURRENT READY AGE",
			wide:   "NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR",
			check:  counts(`^2$`, `^\d+$`, `^\d+$`),
		},
		{
			resource: "services", name: "svc",
			header: "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
			wide:   "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR",
			check: func(t *testing.T, row []string) {
				cells(1, "ClusterIP", "", "<none>", "80/TCP")(t, row)
				if len(row) > 2 && net.ParseIP(row[2]) == nil {
					t.Errorf("CLUSTER-IP = %q, want an IP address", row[2])
				}
			},
		},
		{
			resource: "events", name: "pod/pod-x", key: 3,
			header: "LAST SEEN TYPE REASON OBJECT MESSAGE",
			wide:   "LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME",
			check: func(t *testing.T, row []string) {
				// LAST SEEN is one cell ("327d"); MESSAGE spans the rest.
				cells(1, "Warning", "BackOff", "pod/pod-x", "Back-off")(t, row)
			},
		},
		{
			resource: "leases", name: "leader",
			header: "NAME HOLDER AGE",
			wide:   "NAME HOLDER AGE",
			check:  cells(1, "replica-0"),
		},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			args := []string{"get", tc.resource}
			if tc.resource != "namespaces" && tc.resource != "nodes" {
				args = append(args, "-n", ns)
			}
			out := k.run(t, args...)
			if got := header(out); got != tc.header {
				t.Errorf("header = %q, want %q", got, tc.header)
			}
			row, ok := rows(out, tc.key)[tc.name]
			if !ok {
				t.Fatalf("no row %q in:\n%s", tc.name, out)
			}
			tc.check(t, row)

			wide := k.run(t, append(args, "-o", "wide")...)
			if got := header(wide); got != tc.wide {
				t.Errorf("wide header = %q, want %q", got, tc.wide)
			}
		})
	}

	t.Run("wide-cells", func(t *testing.T) {
		out := k.run(t, "get", "node", "e2e-node-1", "-o", "wide")
		mustContain(t, "node wide", out, "10.0.0.7", "Debian GNU/Linux 13", "6.12.0", "containerd://2.1.0")
		out = k.run(t, "-n", ns, "get", "deployment", "dep", "-o", "wide")
		if f := rows(out, 0)["dep"]; len(f) != 8 || f[5] != "nginx" || f[6] != "nginx:1.27" || f[7] != "app=dep" {
			t.Errorf("deployment wide row = %q, want CONTAINERS nginx IMAGES nginx:1.27 SELECTOR app=dep", f)
		}
	})
}

// cells returns a row check asserting row[from+i] == want[i] for every
// non-empty want (empty entries skip columns such as AGE).
func cells(from int, want ...string) func(*testing.T, []string) {
	return func(t *testing.T, row []string) {
		t.Helper()
		for i, w := range want {
			if w == "" {
				continue
			}
			if from+i >= len(row) || row[from+i] != w {
				t.Errorf("row %q: column %d = %q, want %q", row, from+i, at(row, from+i), w)
			}
		}
	}
}

// counts returns a row check matching row[1+i] against each regular
// expression. Replica counts are checked by shape only: once kplane runs
// controllers they change, which is not what these tests are about.
func counts(patterns ...string) func(*testing.T, []string) {
	return func(t *testing.T, row []string) {
		t.Helper()
		for i, p := range patterns {
			if !regexp.MustCompile(p).MatchString(at(row, 1+i)) {
				t.Errorf("row %q: column %d = %q, want match for %s", row, 1+i, at(row, 1+i), p)
			}
		}
	}
}

func at(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return "<missing>"
}
