package disruption_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/disruption"
	"kplane/internal/controllers/manager"
	"kplane/internal/kubectltest"
)

// kubelet plays the node agent for ns: it binds new pods to the node
// named by node, marks them Running and Ready (while starting is true),
// and completes the graceful deletion of deleted pods.
func kubelet(ctx context.Context, c kubernetes.Interface, ns string, node *atomic.Value, starting *atomic.Bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, p := range pods.Items {
			switch {
			case p.DeletionTimestamp != nil:
				_ = c.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
			case p.Spec.NodeName == "":
				_ = c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name},
					Target: corev1.ObjectReference{Kind: "Node", Name: node.Load().(string)}}, metav1.CreateOptions{})
			case p.Status.Phase != corev1.PodRunning && starting.Load():
				_ = controllertest.SetPodReady(ctx, c, ns, p.Name)
			}
		}
	}
}

// TestBudgetGuardsEvictions runs the deployment, replicaset and disruption
// controllers: the PDB status follows the pods, the eviction API lets one
// pod go and refuses the next (429) until its replacement is Ready, and
// the real `kubectl drain` empties a node one budgeted eviction at a time.
func TestBudgetGuardsEvictions(t *testing.T) {
	env := controllertest.Start(t, manager.Config{Controllers: []string{"deployment", "replicaset", disruption.Name}})
	c := env.Admin
	ctx := context.Background()
	ns := env.Namespace(t, "pdb")
	for _, n := range []string{"node-a", "node-b"} {
		if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var node atomic.Value
	node.Store("node-a")
	var starting atomic.Bool
	starting.Store(true)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { kubelet(runCtx, c, ns, &node, &starting) })
	t.Cleanup(func() { stop(); wg.Wait() })

	labels := map[string]string{"app": "db"}
	if _, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(3)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "postgres"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	minAvailable := intstr.FromInt32(2)
	if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAllowed := func(n int32) *policyv1.PodDisruptionBudget {
		t.Helper()
		var pdb *policyv1.PodDisruptionBudget
		controllertest.Eventually(t, "budget allowing disruptions", func(ctx context.Context) (bool, error) {
			var err error
			pdb, err = c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			st := pdb.Status
			return st.ObservedGeneration == pdb.Generation && st.CurrentHealthy == 3 && st.DesiredHealthy == 2 && st.ExpectedPods == 3 &&
				st.DisruptionsAllowed == n && len(st.DisruptedPods) == 0, nil
		})
		return pdb
	}
	pdb := waitAllowed(1)
	if len(pdb.Status.Conditions) != 1 || pdb.Status.Conditions[0].Reason != policyv1.SufficientPodsReason || pdb.Status.Conditions[0].Status != metav1.ConditionTrue {
		t.Errorf("conditions = %+v, want DisruptionAllowed True SufficientPods", pdb.Status.Conditions)
	}

	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=db"})
	if err != nil || len(pods.Items) != 3 {
		t.Fatalf("pods = %v, %v", pods, err)
	}
	evict := func(name string) error {
		return c.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	// Replacements stay unready until the budget refused an eviction.
	starting.Store(false)
	if err := evict(pods.Items[0].Name); err != nil {
		t.Fatalf("first eviction: %v", err)
	}
	if err := evict(pods.Items[1].Name); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("second eviction: err = %v, want 429 TooManyRequests", err)
	}
	controllertest.Eventually(t, "budget at 2 healthy pods", func(ctx context.Context) (bool, error) {
		pdb, err := c.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && pdb.Status.CurrentHealthy == 2 && pdb.Status.DisruptionsAllowed == 0 &&
			pdb.Status.Conditions[0].Reason == policyv1.InsufficientPodsReason, err
	})
	// The replacement becomes Ready: one disruption is allowed again.
	starting.Store(true)
	waitAllowed(1)

	// kubectl drain node-a: new pods go to node-b; the budget lets the
	// three pods of node-a go one at a time (the refused evictions are
	// retried by kubectl).
	node.Store("node-b")
	bin, err := kubectltest.Path()
	if err != nil {
		t.Fatal(err)
	}
	kcfg := filepath.Join(t.TempDir(), "kubeconfig")
	data, err := os.ReadFile(env.CP.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kcfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "--kubeconfig", kcfg, "drain", "node-a", "--timeout=90s").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl drain: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "node/node-a drained") {
		t.Errorf("kubectl drain output:\n%s", out)
	}
	left, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=node-a"})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("pods left on node-a: %v, %v", left, err)
	}
	waitAllowed(1)
}
