package scheduler

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controlplane"
)

func node(name, cpu string, labels map[string]string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")},
		},
	}
}

func pod(name, cpu string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "c", Image: "busybox", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}},
	}}}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func createNode(t *testing.T, ctx context.Context, cs kubernetes.Interface, n *corev1.Node) {
	t.Helper()
	created, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", n.Name, err)
	}
	if created.Status.Allocatable.Cpu().IsZero() {
		created.Status = n.Status
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("node %s status: %v", n.Name, err)
		}
	}
}

// TestSchedulerPlacesPods runs the scheduler against a real control plane
// with its own identity: pods land on the nodes their selectors,
// tolerations and requests allow; a pod that fits nowhere stays Pending
// with upstream's FailedScheduling message and condition, and is
// scheduled once a fitting node appears.
func TestSchedulerPlacesPods(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: t.TempDir(), Port: 0,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), EtcdUnsafeNoFsync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Stop()
	admin, err := cp.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(admin)
	rc, err := clientcmd.BuildConfigFromFlags("", cp.SchedulerKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	gpuTaint := corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}
	createNode(t, ctx, cs, node("ssd", "4", map[string]string{"disk": "ssd"}))
	createNode(t, ctx, cs, node("gpu", "4", map[string]string{"accel": "gpu"}, gpuTaint))
	createNode(t, ctx, cs, node("small", "1", map[string]string{"size": "small"}))

	reg := prometheus.NewRegistry()
	s, err := New(Config{RESTConfig: rc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Seed: 1, Metrics: reg,
		PodInitialBackoff: 100 * time.Millisecond, PodMaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("scheduler stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("scheduler not ready")
	}

	ns := "default"
	pods := map[string]struct {
		pod  *corev1.Pod
		want string
	}{
		"selector": {pod("selector", "100m", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }), "ssd"},
		"toleration": {pod("toleration", "100m", func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"accel": "gpu"}
			p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "gpu", Effect: corev1.TaintEffectNoSchedule}}
		}), "gpu"},
		// 3 cpu fits only on a 4-cpu node, and only ssd is untainted.
		"resources": {pod("resources", "3"), "ssd"},
	}
	for _, tc := range pods {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, tc.pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", tc.pod.Name, err)
		}
	}
	for name, tc := range pods {
		waitBound(t, ctx, cs, ns, name, tc.want)
	}

	// Fits nowhere: small has 1 cpu, ssd lacks the label, gpu is tainted.
	big := pod("big", "2", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"size": "small"} })
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, big, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}. " +
		"preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	var got *corev1.Pod
	poll(t, ctx, "PodScheduled=False on big", func() (bool, error) {
		got, err = cs.CoreV1().Pods(ns).Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return true, nil
			}
		}
		return false, nil
	})
	for _, c := range got.Status.Conditions {
		if c.Type == corev1.PodScheduled && (c.Reason != "Unschedulable" || c.Message != want) {
			t.Errorf("condition = %s %q,\nwant Unschedulable %q", c.Reason, c.Message, want)
		}
	}
	if got.Spec.NodeName != "" || got.Status.Phase != corev1.PodPending {
		t.Errorf("big: node %q phase %s, want unbound Pending", got.Spec.NodeName, got.Status.Phase)
	}
	poll(t, ctx, "FailedScheduling event", func() (bool, error) {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "big" && e.Reason == "FailedScheduling" {
				if e.Type != corev1.EventTypeWarning || e.Message != want {
					t.Errorf("event %s %q, want Warning %q", e.Type, e.Message, want)
				}
				return true, nil
			}
		}
		return false, nil
	})

	// A fitting node makes it schedulable.
	createNode(t, ctx, cs, node("small-2", "4", map[string]string{"size": "small"}))
	waitBound(t, ctx, cs, ns, "big", "small-2")
	poll(t, ctx, "Scheduled event", func() (bool, error) {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == "big" && e.Reason == "Scheduled" {
				return e.Message == "Successfully assigned default/big to small-2", nil
			}
		}
		return false, nil
	})

	attempts := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "scheduler_schedule_attempts_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					attempts[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	if attempts["scheduled"] != 4 || attempts["unschedulable"] < 1 {
		t.Errorf("scheduler_schedule_attempts_total = %v, want 4 scheduled and at least 1 unschedulable", attempts)
	}
}

func waitBound(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, name, want string) {
	t.Helper()
	poll(t, ctx, "pod "+name+" bound", func() (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.NodeName != "" && p.Spec.NodeName != want {
			t.Fatalf("pod %s bound to %s, want %s", name, p.Spec.NodeName, want)
		}
		return p.Spec.NodeName == want, nil
	})
}

func poll(t *testing.T, ctx context.Context, what string, cond func() (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		return cond()
	}); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
