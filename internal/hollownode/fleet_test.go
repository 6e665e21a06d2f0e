package hollownode_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/hollownode"
)

// startFleet runs a fleet against env until the test ends and waits for
// it to be Ready.
func startFleet(t *testing.T, env *controllertest.Env, cfg hollownode.Config) (*hollownode.Fleet, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.RESTConfig = env.AdminConfig
	cfg.Metrics = reg
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f, err := hollownode.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-f.Ready():
	case err := <-done:
		t.Fatalf("Run exited before Ready: %v", err)
	case <-time.After(controllertest.WaitTimeout):
		t.Fatalf("fleet not Ready after %s (%d registered)", controllertest.WaitTimeout, f.Registered())
	}
	return f, reg
}

func getPod(ctx context.Context, c kubernetes.Interface, ns, name string) (*corev1.Pod, error) {
	return c.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
}

func condition(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func nodeReady(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return ""
}

func boundPod(ns, name, node string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// TestFleetNodesAndPods registers a small fleet against a real control
// plane and checks what a kubelet would show: Ready nodes with podCIDRs,
// zones and Leases; pods Running with IPs from their node's podCIDR,
// readiness after the probe delay, completion per restartPolicy, and
// deletion after the containers stopped.
func TestFleetNodesAndPods(t *testing.T) {
	env := controllertest.NewControlPlane(t)
	ctx := context.Background()
	fleet, reg := startFleet(t, env, hollownode.Config{
		Count: 3, LeaseRenewInterval: time.Second, LeaseDuration: 4 * time.Second,
		Pods: hollownode.PodProfile{StartLatency: 50 * time.Millisecond, JobRunDuration: time.Second},
	})
	if got := fleet.Nodes(); len(got) != 3 || got[0] != "hollow-node-0" {
		t.Fatalf("Nodes() = %v", got)
	}

	cidrs := map[string]netip.Prefix{}
	for _, name := range fleet.Nodes() {
		n, err := env.Admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get node: %v", err)
		}
		if nodeReady(n) != corev1.ConditionTrue {
			t.Errorf("node %s Ready = %q, want True", name, nodeReady(n))
		}
		p, err := netip.ParsePrefix(n.Spec.PodCIDR)
		if err != nil {
			t.Errorf("node %s podCIDR %q: %v", name, n.Spec.PodCIDR, err)
		}
		for other, q := range cidrs {
			if p.Overlaps(q) {
				t.Errorf("podCIDRs of %s (%s) and %s (%s) overlap", name, p, other, q)
			}
		}
		cidrs[name] = p
		if n.Labels[corev1.LabelTopologyZone] == "" || n.Labels[corev1.LabelHostname] != name {
			t.Errorf("node %s labels = %v", name, n.Labels)
		}
		if n.Status.Allocatable.Pods().Value() != 110 {
			t.Errorf("node %s allocatable pods = %v, want 110", name, n.Status.Allocatable.Pods())
		}
		l, err := env.Admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("lease of %s: %v", name, err)
		}
		if ptr.Deref(l.Spec.HolderIdentity, "") != name || ptr.Deref(l.Spec.LeaseDurationSeconds, 0) != 4 {
			t.Errorf("lease of %s: holder %v duration %v", name, l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds)
		}
		if len(l.OwnerReferences) != 1 || l.OwnerReferences[0].UID != n.UID {
			t.Errorf("lease of %s owner = %v, want node uid %s", name, l.OwnerReferences, n.UID)
		}
	}
	// Leases are renewed.
	first, _ := env.Admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "hollow-node-0", metav1.GetOptions{})
	controllertest.Eventually(t, "lease renewal", func(ctx context.Context) (bool, error) {
		l, err := env.Admin.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, "hollow-node-0", metav1.GetOptions{})
		return err == nil && l.Spec.RenewTime.After(first.Spec.RenewTime.Time), err
	})

	ns := env.Namespace(t, "pods")
	probe := &corev1.Probe{InitialDelaySeconds: 1, ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
	pods := []*corev1.Pod{
		boundPod(ns, "web", "hollow-node-1", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = probe }),
		boundPod(ns, "batch", "hollow-node-2", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Annotations = map[string]string{hollownode.AnnotationRunDuration: "1s"}
		}),
		boundPod(ns, "fails", "hollow-node-2", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			p.Annotations = map[string]string{hollownode.AnnotationRunDuration: "500ms", hollownode.AnnotationExitCode: "3"}
		}),
		boundPod(ns, "crashy", "hollow-node-0", func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
			p.Annotations = map[string]string{hollownode.AnnotationRunDuration: "300ms", hollownode.AnnotationExitCode: "1"}
		}),
	}
	for _, p := range pods {
		if _, err := env.Admin.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}

	var web *corev1.Pod
	controllertest.Eventually(t, "web Running and Ready", func(ctx context.Context) (bool, error) {
		p, err := getPod(ctx, env.Admin, ns, "web")
		web = p
		return err == nil && p.Status.Phase == corev1.PodRunning && condition(p, corev1.PodReady) == corev1.ConditionTrue, err
	})
	ip, err := netip.ParseAddr(web.Status.PodIP)
	if err != nil || !cidrs["hollow-node-1"].Contains(ip) {
		t.Errorf("web podIP %q not in podCIDR %s of its node", web.Status.PodIP, cidrs["hollow-node-1"])
	}
	if web.Status.StartTime == nil || len(web.Status.ContainerStatuses) != 1 || web.Status.ContainerStatuses[0].State.Running == nil {
		t.Errorf("web status incomplete: %+v", web.Status)
	}
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady} {
		if condition(web, c) != corev1.ConditionTrue {
			t.Errorf("web condition %s = %q", c, condition(web, c))
		}
	}

	for name, want := range map[string]corev1.PodPhase{"batch": corev1.PodSucceeded, "fails": corev1.PodFailed} {
		controllertest.Eventually(t, name+" "+string(want), func(ctx context.Context) (bool, error) {
			p, err := getPod(ctx, env.Admin, ns, name)
			return err == nil && p.Status.Phase == want, err
		})
	}
	controllertest.Eventually(t, "crashy restarted", func(ctx context.Context) (bool, error) {
		p, err := getPod(ctx, env.Admin, ns, "crashy")
		return err == nil && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 &&
			p.Status.ContainerStatuses[0].RestartCount >= 2, err
	})

	// A pod whose preStop hook outlasts its grace period stays Terminating
	// for the grace period, then goes.
	slow := boundPod(ns, "slow-stop", "hollow-node-0", func(p *corev1.Pod) {
		p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](8)
		p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "3600"}}}}
	})
	if _, err := env.Admin.CoreV1().Pods(ns).Create(ctx, slow, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create slow-stop: %v", err)
	}
	controllertest.Eventually(t, "slow-stop Running", func(ctx context.Context) (bool, error) {
		p, err := getPod(ctx, env.Admin, ns, "slow-stop")
		return err == nil && p.Status.Phase == corev1.PodRunning, err
	})
	deleted := time.Now()
	if err := env.Admin.CoreV1().Pods(ns).Delete(ctx, "slow-stop", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete slow-stop: %v", err)
	}
	time.Sleep(2 * time.Second)
	if p, err := getPod(ctx, env.Admin, ns, "slow-stop"); err != nil || p.DeletionTimestamp == nil {
		t.Errorf("slow-stop 2s into an 8s grace period: %v, %v; want Terminating", p, err)
	}
	controllertest.Eventually(t, "slow-stop gone", func(ctx context.Context) (bool, error) {
		_, err := getPod(ctx, env.Admin, ns, "slow-stop")
		return apierrors.IsNotFound(err), nil
	})
	if took := time.Since(deleted); took < 7*time.Second {
		t.Errorf("slow-stop deleted after %s, before its 8s grace period", took)
	}
	// The web pod has no hook: it goes once its containers stop (1s).
	if err := env.Admin.CoreV1().Pods(ns).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete web: %v", err)
	}
	controllertest.Eventually(t, "web gone", func(ctx context.Context) (bool, error) {
		_, err := getPod(ctx, env.Admin, ns, "web")
		return apierrors.IsNotFound(err), nil
	})

	if n := metricValue(t, reg, "hollow_node_registered_nodes"); n != 3 {
		t.Errorf("hollow_node_registered_nodes = %v, want 3", n)
	}
	if n := histogramCount(t, reg, "hollow_node_pod_start_duration_seconds"); n < 5 {
		t.Errorf("pod start histogram counts %d starts, want at least 5", n)
	}
}

// metricValue sums the samples of gauge or counter name in reg.
func metricValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			v += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return v
}

// histogramCount is the sample count of histogram name in reg.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.Metric {
				n += m.GetHistogram().GetSampleCount()
			}
		}
	}
	return n
}
