package e2e

import (
	"strings"
	"testing"
)

// schedNodes are two nodes made with kubectl: "tainted" has the role=web
// label and a dedicated=web:NoSchedule taint, "plain" has neither.
const schedNodes = `apiVersion: v1
kind: Node
metadata:
  name: sched-tainted
  labels: {role: web}
spec:
  taints: [{key: dedicated, value: web, effect: NoSchedule}]
---
apiVersion: v1
kind: Node
metadata:
  name: sched-plain
`

// schedNodeStatus gives a node room for pods and a Ready condition, so the
// node lifecycle controller does not taint it during the test.
const schedNodeStatus = `{"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},` +
	`"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"e2e"}]}}`

const schedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {role: web}
      tolerations: [{key: dedicated, operator: Equal, value: web, effect: NoSchedule}]
      containers:
      - name: c
        image: nginx:1.0
        resources: {requests: {cpu: 100m}}
`

// TestScheduler runs `kplane up` (controller manager and scheduler in
// process) with nodes created by kubectl: a Deployment whose pods select
// and tolerate the tainted node lands there, `kubectl get pods -o wide`
// shows the node, and a pod without the toleration stays Pending with
// upstream's FailedScheduling message.
func TestScheduler(t *testing.T) {
	requireKubectl(t)
	s := startServer(t, t.TempDir())
	k := newKubectl(t, s)
	ns := k.namespace(t, "sched")
	k.stdin(t, schedNodes, "create", "-f", "-")
	for _, n := range []string{"sched-tainted", "sched-plain"} {
		k.run(t, "patch", "node", n, "--subresource=status", "--type=merge", "-p", schedNodeStatus)
	}
	k.stdin(t, schedDeployment, "apply", "-n", ns, "-f", "-")

	out := waitKubectl(t, k, "deployment pods on sched-tainted", func(out string) bool {
		rs := rows(out, 0)
		if len(rs) != 3 {
			return false
		}
		for _, f := range rs {
			if len(f) < 7 || f[6] != "sched-tainted" {
				return false
			}
		}
		return true
	}, "get", "pods", "-n", ns, "-l", "app=web", "-o", "wide")
	if h := header(out); !strings.HasPrefix(h, "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES") {
		t.Errorf("wide header = %q", h)
	}

	k.run(t, "run", "intolerant", "-n", ns, "--image=nginx:1.0",
		`--overrides={"apiVersion":"v1","spec":{"nodeSelector":{"role":"web"}}}`)
	want := "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: web}. " +
		"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	waitKubectl(t, k, "FailedScheduling event", func(out string) bool { return strings.Contains(out, want) },
		"get", "events", "-n", ns, "--field-selector", "involvedObject.name=intolerant,reason=FailedScheduling",
		"-o", "jsonpath={.items[*].message}")
	cond := k.jsonpath(t, `{.status.conditions[?(@.type=="PodScheduled")].reason}/{.spec.nodeName}/{.status.phase}`, "-n", ns, "pod/intolerant")
	if cond != "Unschedulable//Pending" {
		t.Errorf("intolerant pod PodScheduled reason/node/phase = %q, want Unschedulable//Pending", cond)
	}
}
