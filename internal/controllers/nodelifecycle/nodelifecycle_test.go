package nodelifecycle_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
	"kplane/internal/controllers/nodelifecycle"
)

func readyNode(name string, heartbeat time.Time) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: "a"}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
			LastHeartbeatTime: metav1.NewTime(heartbeat), LastTransitionTime: metav1.NewTime(heartbeat),
		}}},
	}
}

// kubelet simulates a node's heartbeats: Lease renewals while alive.
type kubelet struct {
	client kubernetes.Interface
	name   string
	alive  atomic.Bool
}

func (k *kubelet) renew(ctx context.Context) error {
	leases := k.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	l, err := leases.Get(ctx, k.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		now := metav1.NewMicroTime(time.Now())
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: k.name},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(k.name), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	now := metav1.NewMicroTime(time.Now())
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

func (k *kubelet) postReady(ctx context.Context) error {
	n, err := k.client.CoreV1().Nodes().Get(ctx, k.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	n.Status.Conditions = readyNode(k.name, time.Now()).Status.Conditions
	_, err = k.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
	return err
}

func (k *kubelet) run(ctx context.Context, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(300 * time.Millisecond)
		defer t.Stop()
		for {
			if k.alive.Load() {
				_ = k.renew(ctx)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func hasTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Effect == effect {
			return true
		}
	}
	return false
}

func TestNodeLifecycleLeaseExpiryTaintsAndEvicts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := controllertest.NewControlPlane(t)
	admin := env.Admin

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	kubelets := map[string]*kubelet{}
	for _, name := range []string{"healthy", "doomed"} {
		if _, err := admin.CoreV1().Nodes().Create(ctx, readyNode(name, time.Now()), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		k := &kubelet{client: admin, name: name}
		if err := k.postReady(ctx); err != nil {
			t.Fatal(err)
		}
		if err := k.renew(ctx); err != nil {
			t.Fatal(err)
		}
		k.alive.Store(true)
		k.run(ctx, &wg)
		kubelets[name] = k
	}

	// Two pods on the doomed node: one tolerates unreachability for 2s,
	// the other forever.
	mkPod := func(name string, seconds *int64) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{NodeName: "doomed", Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
				Tolerations: []corev1.Toleration{
					{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds},
					{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: seconds},
				}},
		}
		created, err := admin.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := controllertest.SetPodRunning(ctx, admin, "default", created.Name, true, "10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("short", ptr.To[int64](2))
	mkPod("forever", nil)

	// The controllers, with short durations, as their service accounts.
	reg := prometheus.NewRegistry()
	err := env.RunManager(manager.Config{
		Controllers: []string{nodelifecycle.Name, nodelifecycle.TaintEvictionName}, Metrics: reg,
		NodeLifecycle: nodelifecycle.Options{NodeMonitorGracePeriod: 3 * time.Second, NodeMonitorPeriod: 500 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}

	poll := func(what string, cond func() (bool, error)) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) { return cond() }); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	node := func(name string) *corev1.Node {
		n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Let the controller see both nodes healthy, then silence one.
	time.Sleep(time.Second)
	kubelets["doomed"].alive.Store(false)

	poll("doomed node Ready=Unknown", func() (bool, error) {
		for _, c := range node("doomed").Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionUnknown && c.Reason == "NodeStatusUnknown" && c.Message == "Kubelet stopped posting node status.", nil
			}
		}
		return false, nil
	})
	poll("unreachable NoExecute and NoSchedule taints", func() (bool, error) {
		n := node("doomed")
		return hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) && hasTaint(n, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule), nil
	})
	poll("pod with 2s toleration evicted", func() (bool, error) {
		p, err := admin.CoreV1().Pods("default").Get(ctx, "short", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && p.DeletionTimestamp != nil, err
	})
	forever, err := admin.CoreV1().Pods("default").Get(ctx, "forever", metav1.GetOptions{})
	if err != nil || forever.DeletionTimestamp != nil {
		t.Fatalf("pod tolerating forever was deleted: %v", err)
	}
	poll("pods on the silent node marked not ready", func() (bool, error) {
		p, err := admin.CoreV1().Pods("default").Get(ctx, "forever", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionFalse, nil
			}
		}
		return false, nil
	})
	if h := node("healthy"); len(h.Spec.Taints) != 0 {
		t.Fatalf("healthy node got taints %v", h.Spec.Taints)
	}

	// The kubelet comes back: Lease and Ready status again.
	kubelets["doomed"].alive.Store(true)
	if err := kubelets["doomed"].postReady(ctx); err != nil {
		t.Fatal(err)
	}
	poll("taints removed on recovery", func() (bool, error) {
		return len(node("doomed").Spec.Taints) == 0, nil
	})

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		if f.GetName() != "node_collector_evictions_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "zone" && strings.HasSuffix(l.GetValue(), ":a") && m.GetCounter().GetValue() >= 1 {
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatal("node_collector_evictions_total{zone=...a} not incremented")
	}
}
