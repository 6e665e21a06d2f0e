package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// webDeployment requests CPU and memory, so utilization is defined.
const webDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: nginx:1.0
        resources: {requests: {cpu: 100m, memory: 64Mi}}
`

// TestTopAndAutoscale runs `kplane up --nodes 3` with a 1s HPA sync
// period: `kubectl top` shows the simulated usage of the hollow nodes and
// their pods, and an HPA made by `kubectl autoscale` scales the Deployment
// up when the usage annotations on its pods rise.
func TestTopAndAutoscale(t *testing.T) {
	requireKubectl(t)
	s := startServer(t, t.TempDir(), "--nodes", "3", "--horizontal-pod-autoscaler-sync-period", "1s")
	k := newKubectl(t, s)
	waitKubectl(t, k, "3 Ready nodes", func(out string) bool {
		return strings.Count(out, " Ready ") == 3
	}, "get", "nodes", "--no-headers")
	ns := k.namespace(t, "top")
	k.stdin(t, webDeployment, "apply", "-n", ns, "-f", "-")
	k.run(t, "rollout", "status", "deployment/web", "-n", ns, "--timeout=120s")

	// Nodes: 100m/512Mi overhead plus two pods at about 50m/32Mi.
	out := waitKubectl(t, k, "top nodes", count(3), "top", "nodes", "--no-headers")
	for _, f := range rows(out, 0) {
		if len(f) < 5 || !strings.HasPrefix(f[0], "hollow-node-") || !strings.HasSuffix(f[1], "m") || !strings.HasSuffix(f[3], "Mi") {
			t.Errorf("top nodes row %v", f)
		}
	}
	// Pods: half of the requests, ±10%.
	out = waitKubectl(t, k, "top pods", count(2), "top", "pods", "-n", ns, "--no-headers")
	for _, f := range rows(out, 0) {
		cpu, err := strconv.Atoi(strings.TrimSuffix(f[1], "m"))
		if err != nil || cpu < 45 || cpu > 55 {
			t.Errorf("top pods row %v: want about 50m CPU", f)
		}
	}

	k.run(t, "autoscale", "deployment/web", "-n", ns, "--cpu-percent=50", "--min=2", "--max=5")
	k.run(t, "annotate", "pods", "-n", ns, "-l", "app=web", "kplane.io/cpu-usage=300m", "--overwrite")
	waitKubectl(t, k, "HPA scales web to 5", func(out string) bool { return out == "5" },
		"get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}")
	out = k.run(t, "get", "events", "-n", ns, "--field-selector", "reason=SuccessfulRescale", "-o", "jsonpath={.items[*].message}")
	mustContain(t, "rescale events", out, "cpu resource utilization (percentage of request) above target")
	out = k.run(t, "get", "hpa", "web", "-n", ns, "--no-headers")
	mustContain(t, "kubectl get hpa", out, "Deployment/web", "/50%")
}
