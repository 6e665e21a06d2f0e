package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"kplane/internal/controlplane"
	"kplane/internal/kubectltest"
	"kplane/internal/usage"
)

// runningPod creates pod ns/name bound to node with the usage annotations
// and marks it Running, as a kubelet would.
func runningPod(t *testing.T, cs kubernetes.Interface, ns, name, node string, labels, ann map[string]string, running bool) {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, Annotations: ann},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{
			{Name: "app", Image: "busybox", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}}},
			{Name: "sidecar", Image: "busybox"},
		}},
	}
	p, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	if !running {
		return
	}
	p.Status.Phase = corev1.PodRunning
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("pod %s running: %v", name, err)
	}
}

func createNode(t *testing.T, cs kubernetes.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": "metrics"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	n.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")}
	n.Status.Allocatable = n.Status.Capacity
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
}

// TestMetricsAPI checks metrics.k8s.io against the usage model: pods and
// nodes, get and list, selectors, not-Running pods absent, discovery, and
// kubectl top pods/nodes with the real kubectl.
func TestMetricsAPI(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	cs, cfg := adminClientset(t, cp)
	mc, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := "top"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	createNode(t, cs, "node-a")
	createNode(t, cs, "node-b")
	web := map[string]string{"app": "web"}
	runningPod(t, cs, ns, "web-1", "node-a", web, map[string]string{usage.AnnotationCPU: "250m", usage.AnnotationMemory: "64Mi"}, true)
	runningPod(t, cs, ns, "web-2", "node-a", web, map[string]string{usage.AnnotationCPU: "750m", usage.AnnotationMemory: "192Mi", usage.AnnotationCPU + ".sidecar": "50m"}, true)
	runningPod(t, cs, ns, "db-1", "node-b", map[string]string{"app": "db"}, map[string]string{usage.AnnotationCPU: "1", usage.AnnotationMemory: "1Gi"}, true)
	runningPod(t, cs, ns, "pending", "node-b", web, map[string]string{usage.AnnotationCPU: "3", usage.AnnotationMemory: "3Gi"}, false)
	// Metrics are read from the watch cache at any resourceVersion (as
	// metrics-server's are a scrape behind), so wait until the cache has
	// every running pod and both nodes before checking values.
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != 3 {
			return false, nil
		}
		n, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
		return err == nil && len(n.Items) == 2, nil
	}); err != nil {
		t.Fatalf("metrics of the 3 running pods and 2 nodes never appeared: %v", err)
	}

	// Pod metrics: get, list by label, all namespaces.
	pm, err := mc.MetricsV1beta1().PodMetricses(ns).Get(ctx, "web-2", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod metrics: %v", err)
	}
	got := map[string]string{}
	for _, c := range pm.Containers {
		got[c.Name] = c.Usage.Cpu().String() + "/" + c.Usage.Memory().String()
	}
	// 750m total, 50m for the sidecar by its own annotation; memory split
	// by requests (the sidecar requests none).
	if want := map[string]string{"app": "700m/192Mi", "sidecar": "50m/0"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("web-2 containers = %v, want %v", got, want)
	}
	if pm.Window.Duration <= 0 || pm.Timestamp.IsZero() || pm.Labels["app"] != "web" {
		t.Errorf("web-2 metrics meta: window %v timestamp %v labels %v", pm.Window, pm.Timestamp, pm.Labels)
	}
	if _, err := mc.MetricsV1beta1().PodMetricses(ns).Get(ctx, "pending", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("metrics of a pending pod: err = %v, want NotFound", err)
	}
	if _, err := mc.MetricsV1beta1().PodMetricses(ns).Get(ctx, "nope", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("metrics of a missing pod: err = %v, want NotFound", err)
	}
	list, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list pod metrics: %v", err)
	}
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if fmt.Sprint(names) != "[web-1 web-2]" {
		t.Errorf("pod metrics app=web = %v, want [web-1 web-2] (the pending pod has none)", names)
	}
	all, err := mc.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=db-1"})
	if err != nil || len(all.Items) != 1 || all.Items[0].Namespace != ns {
		t.Errorf("all-namespace pod metrics by field selector = %+v, %v; want db-1", all, err)
	}

	// Node metrics: running pods plus the 100m / 512Mi overhead.
	nm, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node metrics: %v", err)
	}
	if c, m := nm.Usage.Cpu().String(), nm.Usage.Memory().String(); c != "1100m" || m != "768Mi" {
		t.Errorf("node-a usage = %s/%s, want 1100m/768Mi", c, m)
	}
	nodes, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: "pool=metrics"})
	if err != nil || len(nodes.Items) != 2 {
		t.Fatalf("list node metrics = %+v, %v; want 2", nodes, err)
	}
	for _, n := range nodes.Items {
		if n.Name == "node-b" && (n.Usage.Cpu().String() != "1100m" || n.Usage.Memory().String() != "1536Mi") {
			t.Errorf("node-b usage = %v, want 1100m/1536Mi (the pending pod does not count)", n.Usage)
		}
	}
	if _, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, "node-z", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("metrics of a missing node: err = %v, want NotFound", err)
	}

	// No writes, no watch.
	resp := do(t, httpClient(cp, adminCert(t, cp)), http.MethodDelete, cp.URL()+"/apis/metrics.k8s.io/v1beta1/namespaces/top/pods/web-1", nil, nil)
	if resp.code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE pod metrics = %d %s, want 405", resp.code, resp.body)
	}

	// RBAC as upstream: view (through system:aggregated-metrics-reader)
	// reads pod metrics in its namespace, not node metrics.
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "viewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "viewer"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	viewer := httpClient(cp, userCert(t, cp, "viewer", nil))
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, itTimeout, true, func(context.Context) (bool, error) {
		return do(t, viewer, http.MethodGet, cp.URL()+"/apis/metrics.k8s.io/v1beta1/namespaces/top/pods", nil, nil).code == http.StatusOK, nil
	})
	if err != nil {
		t.Errorf("viewer never allowed to list pod metrics: %v", err)
	}
	if resp := do(t, viewer, http.MethodGet, cp.URL()+"/apis/metrics.k8s.io/v1beta1/nodes", nil, nil); resp.code != http.StatusForbidden {
		t.Errorf("viewer lists node metrics: %d %s, want 403", resp.code, resp.body)
	}

	// kubectl finds the group through discovery and prints usage.
	bin, err := kubectltest.Path()
	if err != nil {
		t.Fatal(err)
	}
	kcfg := filepath.Join(t.TempDir(), "kubeconfig")
	data, err := os.ReadFile(cp.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kcfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl(t, bin, kcfg, "api-resources", "--api-group=metrics.k8s.io", "--no-headers")
	if err != nil || !strings.Contains(out, "PodMetrics") || !strings.Contains(out, "NodeMetrics") {
		t.Errorf("kubectl api-resources: %v\n%s", err, out)
	}
	top := func(args ...string) string {
		t.Helper()
		var out string
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, itTimeout, true, func(context.Context) (bool, error) {
			var err error
			out, err = kubectl(t, bin, kcfg, append([]string{"top"}, args...)...)
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("kubectl top %v: %v\n%s", args, err, out)
		}
		return out
	}
	out = top("pods", "-n", ns, "--sort-by=cpu")
	for _, want := range []string{"db-1 1000m 1024Mi", "web-2 750m 192Mi", "web-1 250m 64Mi"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("kubectl top pods lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pending") {
		t.Errorf("kubectl top pods shows the pending pod:\n%s", out)
	}
	out = top("pods", "-n", ns, "-l", "app=web", "--containers")
	if f := strings.Join(strings.Fields(out), " "); !strings.Contains(f, "web-2 sidecar 50m 0Mi") || strings.Contains(f, "db-1") {
		t.Errorf("kubectl top pods --containers -l app=web:\n%s", out)
	}
	t.Logf("top pods:\n%s", out)
	out = top("nodes")
	t.Logf("top nodes:\n%s", out)
	// 1100m of 4 cores is 27%; 768Mi of 8Gi is 9%.
	if f := strings.Join(strings.Fields(out), " "); !strings.Contains(f, "node-a 1100m 27% 768Mi 9%") || !strings.Contains(f, "node-b 1100m 27% 1536Mi 18%") {
		t.Errorf("kubectl top nodes:\n%s", out)
	}
}
