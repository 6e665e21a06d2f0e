package e2e

import (
	"crypto/tls"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// hollowGrace is the node monitor grace period of the hollow node test:
// short, so a node whose heartbeats stop turns NotReady quickly; the
// nodes renew their Leases every 2s to stay well inside it.
const hollowGrace = "8s"

// slowStopPod is a pod whose preStop hook outlasts its 6s grace period:
// deleting it must leave it Terminating for the grace period.
const slowStopPod = `apiVersion: v1
kind: Pod
metadata:
  name: slow-stop
spec:
  terminationGracePeriodSeconds: 6
  containers:
  - name: c
    image: nginx:1.0
    lifecycle:
      preStop:
        exec: {command: ["sleep", "3600"]}
`

// externalDeployment runs pods only on the nodes of the separate
// `kplane nodes` process.
const externalDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ext
spec:
  replicas: 6
  selector: {matchLabels: {app: ext}}
  template:
    metadata: {labels: {app: ext}}
    spec:
      nodeSelector: {fleet: ext}
      containers:
      - name: c
        image: nginx:1.0
`

// TestHollowNodes runs `kplane up --nodes 50` and drives it with kubectl:
// a 200-replica Deployment rolls out Running and Ready, a Job completes,
// a deleted pod stays Terminating for its grace period. A second fleet in
// a separate `kplane nodes` process joins through the kubeconfig, runs
// pods the same way, and one of its nodes turns NotReady when its
// heartbeats are stopped through the fleet's /faults endpoint.
func TestHollowNodes(t *testing.T) {
	requireKubectl(t)
	s := startServer(t, t.TempDir(), "--nodes", "50",
		"--nodes-node-lease-renew-interval", "2s", "--nodes-node-lease-duration", hollowGrace,
		"--node-monitor-grace-period", hollowGrace, "--node-monitor-period", "1s")
	k := newKubectl(t, s)
	waitKubectl(t, k, "50 Ready nodes", func(out string) bool {
		return strings.Count(out, " Ready ") == 50
	}, "get", "nodes", "--no-headers")

	ns := k.namespace(t, "hollow")
	t.Run("deployment", func(t *testing.T) {
		k.run(t, "create", "deployment", "web", "-n", ns, "--image=nginx:1.0", "--replicas=200")
		out := k.run(t, "rollout", "status", "deployment/web", "-n", ns, "--timeout=300s")
		mustContain(t, "rollout status", out, `deployment "web" successfully rolled out`)
		out = k.run(t, "get", "pods", "-n", ns, "-l", "app=web", "-o", "wide")
		ips := map[string]bool{}
		for _, f := range rows(out, 0) {
			if len(f) < 7 || f[1] != "1/1" || f[2] != "Running" || !strings.HasPrefix(f[6], "hollow-node-") {
				t.Fatalf("pod not Running and Ready on a hollow node: %v", f)
			}
			if ips[f[5]] {
				t.Errorf("pod IP %s used twice", f[5])
			}
			ips[f[5]] = true
		}
		if len(ips) != 200 {
			t.Errorf("%d pods with distinct IPs, want 200", len(ips))
		}
	})

	t.Run("job", func(t *testing.T) {
		k.run(t, "create", "job", "pi", "-n", ns, "--image=perl:5", "--", "perl", "-e", "print 1")
		k.run(t, "wait", "--for=condition=complete", "job/pi", "-n", ns, "--timeout=120s")
		out := k.run(t, "get", "pods", "-n", ns, "-l", "job-name=pi", "--no-headers")
		mustContain(t, "job pod", out, "Completed")
	})

	t.Run("graceful-delete", func(t *testing.T) {
		k.stdin(t, slowStopPod, "apply", "-n", ns, "-f", "-")
		k.run(t, "wait", "--for=jsonpath={.status.phase}=Running", "pod/slow-stop", "-n", ns, "--timeout=60s")
		start := time.Now()
		k.run(t, "delete", "pod", "slow-stop", "-n", ns, "--wait=false")
		out := k.run(t, "get", "pod", "slow-stop", "-n", ns, "--no-headers")
		mustContain(t, "pod right after delete", out, "Terminating")
		k.run(t, "wait", "--for=delete", "pod/slow-stop", "-n", ns, "--timeout=60s")
		if took := time.Since(start); took < 5*time.Second {
			t.Errorf("pod with a 6s grace period and a hanging preStop hook was gone after %s", took)
		}
	})

	t.Run("separate-process", func(t *testing.T) {
		p := startProc(t, "kplane nodes", "nodes", "--kubeconfig", s.kubeconfig, "--count", "3",
			"--name-prefix", "ext-", "--first-index", "1000", "--node-labels", "fleet=ext",
			"--node-lease-renew-interval", "2s", "--node-lease-duration", hollowGrace, "--address", "127.0.0.1:0")
		addr := p.waitOutput(t, regexp.MustCompile(`/faults on (https://\S+)`), startTimeout)[1]
		p.waitOutput(t, regexp.MustCompile(`3 hollow nodes ready`), startTimeout)
		waitKubectl(t, k, "3 Ready external nodes", func(out string) bool {
			return strings.Count(out, " Ready ") == 3
		}, "get", "nodes", "-l", "fleet=ext", "--no-headers")

		k.stdin(t, externalDeployment, "apply", "-n", ns, "-f", "-")
		k.run(t, "rollout", "status", "deployment/ext", "-n", ns, "--timeout=120s")
		out := k.run(t, "get", "pods", "-n", ns, "-l", "app=ext", "-o", "wide")
		for _, f := range rows(out, 0) {
			if len(f) < 7 || f[2] != "Running" || !strings.HasPrefix(f[6], "ext-") {
				t.Errorf("external pod not Running on an external node: %v", f)
			}
		}

		// The fault endpoint is HTTPS behind delegated auth: anonymous is
		// refused, the cluster admin's client certificate is allowed.
		faultURL := addr + "/faults?node=ext-1001&fault=stop-heartbeats"
		anon := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed serving cert, as upstream components
		resp, err := anon.Post(faultURL, "", nil)
		if err != nil {
			t.Fatalf("anonymous fault request: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("anonymous fault request: %s, want 401 or 403", resp.Status)
		}
		rc, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		tlsCfg, err := rest.TLSConfigFor(rc)
		if err != nil {
			t.Fatal(err)
		}
		tlsCfg.RootCAs, tlsCfg.InsecureSkipVerify = nil, true
		admin := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
		resp, err = admin.Post(faultURL, "", nil)
		if err != nil {
			t.Fatalf("inject fault: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("inject fault: %s", resp.Status)
		}
		waitKubectl(t, k, "ext-1001 NotReady", func(out string) bool {
			f := strings.Fields(out)
			return len(f) > 1 && f[1] == "NotReady"
		}, "get", "node", "ext-1001", "--no-headers")
		out = k.run(t, "get", "node", "ext-1001", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)
		if out != "NodeStatusUnknown" {
			t.Errorf("Ready reason of a silent node = %q, want NodeStatusUnknown", out)
		}
		// The others keep heartbeating.
		out = k.run(t, "get", "nodes", "-l", "fleet=ext", "--no-headers")
		if got := strings.Count(out, " Ready "); got != 2 {
			t.Errorf("%d external nodes Ready after one stopped, want 2:\n%s", got, out)
		}
	})
}
