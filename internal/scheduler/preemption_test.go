package scheduler

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controlplane"
	"kplane/internal/leaderelection"
)

// startCluster starts a control plane and a scheduler with its own
// identity; both stop when the test ends.
func startCluster(t *testing.T) (context.Context, kubernetes.Interface) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: t.TempDir(), Port: 0, Logger: logger, EtcdUnsafeNoFsync: true})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	admin, err := cp.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cp.SchedulerKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{RESTConfig: rc, Logger: logger, Seed: 1, Metrics: prometheus.NewRegistry(), LeaderElection: leaderelection.Options{Disable: true},
		PodInitialBackoff: 100 * time.Millisecond, PodMaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		cp.Stop()
	})
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("scheduler stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("scheduler not ready")
	}
	return ctx, kubernetes.NewForConfigOrDie(admin)
}

// TestPreemption: low-priority pods fill the nodes; a high-priority pod
// evicts the fewest of them on one node, is nominated to it and bound
// there once they are gone; a pod whose class says preemptionPolicy Never
// waits with upstream's message. Priorities come from PriorityClasses via
// admission.
func TestPreemption(t *testing.T) {
	ctx, cs := startCluster(t)
	const ns = "default"
	never := corev1.PreemptNever
	for _, pc := range []*schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "low"}, Value: 10},
		{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000},
		{ObjectMeta: metav1.ObjectMeta{Name: "polite"}, Value: 1000, PreemptionPolicy: &never},
	} {
		if _, err := cs.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create priority class %s: %v", pc.Name, err)
		}
	}
	createNode(t, ctx, cs, node("n1", "2", nil))
	createNode(t, ctx, cs, node("n2", "2", nil))

	// Admission resolves the class, and refuses a class that does not exist.
	_, err := cs.CoreV1().Pods(ns).Create(ctx, pod("orphan", "1", func(p *corev1.Pod) { p.Spec.PriorityClassName = "missing" }), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no PriorityClass with name missing was found") {
		t.Errorf("pod with a missing class: err = %v, want Forbidden", err)
	}
	zero := int64(0)
	lows := []string{"low-0", "low-1", "low-2", "low-3"}
	for _, name := range lows {
		p := pod(name, "1", func(p *corev1.Pod) {
			p.Spec.PriorityClassName = "low"
			p.Spec.TerminationGracePeriodSeconds = &zero
		})
		created, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if created.Spec.Priority == nil || *created.Spec.Priority != 10 {
			t.Fatalf("%s: spec.priority = %v, want 10 from its class", name, created.Spec.Priority)
		}
	}
	placed := map[string]string{}
	poll(t, ctx, "low pods bound", func() (bool, error) {
		for _, name := range lows {
			p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil || p.Spec.NodeName == "" {
				return false, err
			}
			placed[name] = p.Spec.NodeName
		}
		return true, nil
	})

	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("high", "2", func(p *corev1.Pod) { p.Spec.PriorityClassName = "high" }), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var high *corev1.Pod
	poll(t, ctx, "high bound", func() (bool, error) {
		high, err = cs.CoreV1().Pods(ns).Get(ctx, "high", metav1.GetOptions{})
		return err == nil && high.Spec.NodeName != "", err
	})
	target := high.Spec.NodeName
	if high.Status.NominatedNodeName != target {
		t.Errorf("high: nominatedNodeName %q, bound to %s", high.Status.NominatedNodeName, target)
	}
	var victims []string
	for _, name := range lows {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case placed[name] == target && !apierrors.IsNotFound(err):
			t.Errorf("victim %s on %s still exists (err %v)", name, target, err)
		case placed[name] != target && err != nil:
			t.Errorf("%s on the other node: %v, want it untouched", name, err)
		case placed[name] == target:
			victims = append(victims, name)
		}
	}
	if len(victims) != 2 {
		t.Errorf("victims %v, want the 2 pods on %s", victims, target)
	}
	poll(t, ctx, "Preempted events", func() (bool, error) {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		n := 0
		for _, e := range evs.Items {
			if e.Reason == "Preempted" && strings.HasPrefix(e.Message, "Preempted by pod "+string(high.UID)+" on node "+target) {
				n++
			}
		}
		return n == len(victims), nil
	})

	// preemptionPolicy Never (from the class): it waits, nobody is evicted.
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("polite", "2", func(p *corev1.Pod) { p.Spec.PriorityClassName = "polite" }), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
	poll(t, ctx, "polite unschedulable", func() (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "polite", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if p.Spec.PreemptionPolicy == nil || *p.Spec.PreemptionPolicy != never {
			t.Fatalf("polite: preemptionPolicy %v, want Never from its class", p.Spec.PreemptionPolicy)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				if c.Message != want {
					t.Fatalf("polite: condition %q, want %q", c.Message, want)
				}
				return true, nil
			}
		}
		return false, nil
	})
	left, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Items) != 4 { // high, polite and the two low pods on the other node
		t.Errorf("%d pods left, want 4", len(left.Items))
	}
}
