package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// testDiscovery covers api-resources, api-versions and raw GETs.
func testDiscovery(t *testing.T, k *kubectl) {
	t.Run("api-resources", func(t *testing.T) {
		out := k.run(t, "api-resources")
		if got, want := header(out), "NAME SHORTNAMES APIVERSION NAMESPACED KIND"; got != want {
			t.Errorf("header = %q, want %q", got, want)
		}
		byName := map[string][]string{}
		for _, l := range lines(out)[1:] {
			f := strings.Fields(l)
			if len(f) == 5 { // only rows with short names
				byName[f[0]+" "+f[2]] = f
			}
		}
		for _, want := range []string{
			"pods po v1 true Pod",
			"deployments deploy apps/v1 true Deployment",
			"services svc v1 true Service",
			"namespaces ns v1 false Namespace",
			"nodes no v1 false Node",
			"replicasets rs apps/v1 true ReplicaSet",
			"horizontalpodautoscalers hpa autoscaling/v2 true HorizontalPodAutoscaler",
			"configmaps cm v1 true ConfigMap",
		} {
			f := strings.Fields(want)
			if got := strings.Join(byName[f[0]+" "+f[2]], " "); got != want {
				t.Errorf("api-resources row = %q, want %q", got, want)
			}
		}
		mustContain(t, "api-resources", out, "leases", "coordination.k8s.io/v1", "Lease")

		got := lines(k.run(t, "api-resources", "--api-group=apps", "-o", "name"))
		for _, want := range []string{"deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps"} {
			if !slices.Contains(got, want) {
				t.Errorf("api-resources --api-group=apps -o name = %q, missing %q", got, want)
			}
		}
		cluster := lines(k.run(t, "api-resources", "--namespaced=false", "-o", "name"))
		if !slices.Contains(cluster, "nodes") || !slices.Contains(cluster, "namespaces") || slices.Contains(cluster, "pods") {
			t.Errorf("api-resources --namespaced=false = %q, want nodes and namespaces but not pods", cluster)
		}
		verbs := k.run(t, "api-resources", "--verbs=list,watch", "-o", "wide")
		mustContain(t, "api-resources -o wide", verbs, "VERBS", "create,delete,deletecollection,get,list,patch,update,watch")
	})

	t.Run("api-versions", func(t *testing.T) {
		got := lines(k.run(t, "api-versions"))
		for _, want := range []string{"v1", "apps/v1", "batch/v1", "autoscaling/v2", "coordination.k8s.io/v1", "rbac.authorization.k8s.io/v1"} {
			if !slices.Contains(got, want) {
				t.Errorf("api-versions = %q, missing %q", got, want)
			}
		}
	})

	t.Run("raw-version", func(t *testing.T) {
		out := k.run(t, "get", "--raw", "/version")
		var v struct {
			Major, Minor, GitVersion, Platform string
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("parse /version: %v\n%s", err, out)
		}
		if v.Major != "1" || v.Minor == "" || !strings.HasPrefix(v.GitVersion, "v1.") || v.Platform == "" {
			t.Errorf("/version = %+v, want major 1, a minor, gitVersion v1.* and a platform", v)
		}
		if !strings.HasPrefix(v.GitVersion, "v1."+v.Minor+".") {
			t.Errorf("gitVersion %q does not match minor %q", v.GitVersion, v.Minor)
		}
	})

	t.Run("raw-health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/livez", "/readyz"} {
			if got := k.run(t, "get", "--raw", path); got != "ok" {
				t.Errorf("GET %s = %q, want ok", path, got)
			}
		}
	})

	t.Run("raw-api", func(t *testing.T) {
		out := k.run(t, "get", "--raw", "/api/v1/namespaces/default")
		var ns struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := json.Unmarshal([]byte(out), &ns); err != nil || ns.Kind != "Namespace" || ns.Metadata.Name != "default" {
			t.Errorf("raw GET namespace default = %s (err %v)", out, err)
		}
	})

	t.Run("version", func(t *testing.T) {
		out := k.run(t, "version", "-o", "json")
		mustContain(t, "kubectl version", out, `"serverVersion"`, `"major": "1"`)
	})
}

// testDescribeExplain covers describe (which reads events and related
// objects) and explain (which reads the OpenAPI v3 document).
func testDescribeExplain(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-describe")
	k.run(t, "-n", ns, "create", "deployment", "shop", "--image=nginx:1.27", "--replicas=2")
	k.run(t, "-n", ns, "create", "configmap", "shop-config", "--from-literal=currency=EUR")
	k.run(t, "-n", ns, "run", pendingOverride, "shop-pod", "--image=nginx:1.27", "--labels=app=shop")

	t.Run("describe", func(t *testing.T) {
		for _, tc := range []struct {
			args  []string
			wants []string
		}{
			{[]string{"deployment", "shop"}, []string{"Name:", "shop", "Namespace:", ns, "Labels:", "app=shop", "Selector:", "app=shop", "Replicas:", "2 desired", "Image:", "nginx:1.27"}},
			{[]string{"configmap", "shop-config"}, []string{"Name:", "shop-config", "Namespace:", ns, "Labels:", "<none>", "currency", "EUR"}},
			{[]string{"pod", "shop-pod"}, []string{"Name:", "shop-pod", "Namespace:", ns, "Labels:", "app=shop", "Status:", "Pending", "Service Account:", "default"}},
			{[]string{"namespace", ns}, []string{"Name:", ns, "Labels:", "kubernetes.io/metadata.name=" + ns, "Status:", "Active"}},
		} {
			out := k.run(t, append([]string{"-n", ns, "describe"}, tc.args...)...)
			mustContain(t, "describe "+strings.Join(tc.args, " "), out, tc.wants...)
		}
	})

	t.Run("describe-node-and-events", func(t *testing.T) {
		// describe finds a node's pods and an object's events through
		// field selectors (spec.nodeName, involvedObject.*).
		node := "e2e-describe-node"
		k.stdin(t, fmt.Sprintf("apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\nstatus:\n  nodeInfo:\n    kubeletVersion: v1.37.2\n    bootID: \"\"\n    machineID: \"\"\n    systemUUID: \"\"\n    kernelVersion: \"\"\n    osImage: \"\"\n    containerRuntimeVersion: \"\"\n    kubeProxyVersion: \"\"\n    operatingSystem: linux\n    architecture: amd64\n", node), "create", "-f", "-")
		t.Cleanup(func() { k.run(t, "delete", "node", node, "--ignore-not-found") })
		pod := strings.Replace(boundPod(ns, "placed"), "e2e-virtual-node", node, 1)
		k.stdin(t, pod, "create", "-f", "-")
		uid := k.jsonpath(t, "{.metadata.uid}", "-n", ns, "pod", "placed")
		k.stdin(t, fmt.Sprintf(`apiVersion: v1
kind: Event
metadata:
  name: placed.1
  namespace: %[1]s
involvedObject:
  apiVersion: v1
  kind: Pod
  name: placed
  namespace: %[1]s
  uid: %[2]s
reason: Pulling
message: Pulling image "busybox:1.36"
type: Normal
count: 1
source:
  component: kubelet
`, ns, uid), "create", "-f", "-")

		out := k.run(t, "-n", ns, "describe", "pod", "placed")
		mustContain(t, "describe pod events", out, "Node:", node, "Events:", "Pulling", `Pulling image "busybox:1.36"`)
		out = k.run(t, "describe", "node", node)
		mustContain(t, "describe node", out, "Name:", node, "Kubelet Version:", "v1.37.2", "Non-terminated Pods:", "(1 in total)", ns, "placed")
		events := lines(k.run(t, "-n", ns, "get", "events", "--field-selector", "involvedObject.name=placed,involvedObject.kind=Pod", "-o", "name"))
		if !slices.Equal(events, []string{"event/placed.1"}) {
			t.Errorf("events for pod placed = %q, want event/placed.1", events)
		}
		k.run(t, "-n", ns, "delete", "pod", "placed", "--grace-period=0", "--force")
	})

	t.Run("explain", func(t *testing.T) {
		out := k.run(t, "explain", "pods.spec.containers")
		folded := strings.Join(strings.Fields(out), " ")
		mustContain(t, "explain pods.spec.containers", folded,
			"KIND: Pod", "VERSION: v1", "FIELD: containers <[]Container>", "DESCRIPTION:", "FIELDS:", "image <string>", "name <string> -required-")
		out = k.run(t, "explain", "deployments.spec.replicas")
		folded = strings.Join(strings.Fields(out), " ")
		mustContain(t, "explain deployments.spec.replicas", folded, "KIND: Deployment", "GROUP: apps", "FIELD: replicas <integer>")
	})
}

// testAuth covers `kubectl auth can-i`, `auth whoami`, service account
// tokens (`kubectl create token`) and RBAC as seen by a non-admin user.
func testAuth(t *testing.T, k *kubectl) {
	out, stderr, err := k.exec(t, nil, "", "auth", "can-i", "create", "pods")
	if err != nil && (strings.Contains(stderr, "NotFound") || strings.Contains(stderr, "could not find the requested resource")) {
		t.Skip("server has no SelfSubjectAccessReview API yet: " + strings.TrimSpace(stderr))
	}
	if err != nil || strings.TrimSpace(out) != "yes" {
		t.Fatalf("auth can-i create pods: err=%v stdout=%q stderr=%q, want yes", err, out, stderr)
	}
	if out := k.run(t, "auth", "can-i", "delete", "nodes"); strings.TrimSpace(out) != "yes" {
		t.Errorf("auth can-i delete nodes = %q, want yes for system:masters", out)
	}
	who := k.run(t, "auth", "whoami")
	mustContain(t, "auth whoami", strings.Join(strings.Fields(who), " "), "Username kubernetes-admin", "system:masters")

	t.Run("service-account", func(t *testing.T) {
		ns := k.namespace(t, "e2e-auth")
		k.run(t, "-n", ns, "create", "serviceaccount", "bob")
		k.run(t, "-n", ns, "run", pendingOverride, "target", "--image=nginx")
		bob := k.tokenUser(t, strings.TrimSpace(k.run(t, "-n", ns, "create", "token", "bob")))
		user := "system:serviceaccount:" + ns + ":bob"

		who := strings.Join(strings.Fields(bob.run(t, "auth", "whoami")), " ")
		mustContain(t, "whoami as bob", who, "Username "+user, "system:serviceaccounts:"+ns, "system:authenticated")

		stderr := bob.fail(t, "-n", ns, "get", "pods")
		mustContain(t, "bob lists pods without a binding", stderr,
			`Error from server (Forbidden): pods is forbidden: User "`+user+`" cannot list resource "pods" in API group "" in the namespace "`+ns+`"`)
		if out, _, _ := bob.exec(t, nil, "", "-n", ns, "auth", "can-i", "list", "pods"); strings.TrimSpace(out) != "no" {
			t.Errorf("bob can-i list pods before binding = %q, want no", out)
		}

		k.run(t, "-n", ns, "create", "rolebinding", "bob-view", "--clusterrole=view", "--serviceaccount="+ns+":bob")
		// The authorizer learns about the binding through a watch.
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
			_, _, err := bob.exec(t, nil, "", "-n", ns, "get", "pods")
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("bob still cannot list pods 60s after the view binding: %v", err)
		}
		if got := lines(bob.run(t, "-n", ns, "get", "pods", "-o", "name")); !slices.Equal(got, []string{"pod/target"}) {
			t.Errorf("bob get pods = %q, want pod/target", got)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"list", "pods"}, "yes"},
			{[]string{"get", "configmaps"}, "yes"},
			{[]string{"get", "secrets"}, "no"},
			{[]string{"delete", "pods"}, "no"},
			{[]string{"list", "pods", "-n", "default"}, "no"},
		} {
			out, _, _ := bob.exec(t, nil, "", append([]string{"-n", ns, "auth", "can-i"}, tc.args...)...)
			if strings.TrimSpace(out) != tc.want {
				t.Errorf("bob can-i %s = %q, want %s", strings.Join(tc.args, " "), strings.TrimSpace(out), tc.want)
			}
		}
		stderr = bob.fail(t, "-n", ns, "delete", "pod", "target")
		mustContain(t, "bob deletes a pod", stderr, `pods "target" is forbidden: User "`+user+`" cannot delete resource "pods" in API group "" in the namespace "`+ns+`"`)
	})

	t.Run("impersonation", func(t *testing.T) {
		who := strings.Join(strings.Fields(k.run(t, "auth", "whoami", "--as=alice", "--as-group=devs")), " ")
		mustContain(t, "whoami --as=alice", who, "Username alice", "devs")
		if out, _, _ := k.exec(t, nil, "", "auth", "can-i", "list", "secrets", "--as=alice"); strings.TrimSpace(out) != "no" {
			t.Errorf("can-i list secrets --as=alice = %q, want no", out)
		}
		stderr := k.fail(t, "get", "pods", "--as=alice")
		mustContain(t, "get pods --as=alice", stderr, `User "alice" cannot list resource "pods"`)
	})
}
