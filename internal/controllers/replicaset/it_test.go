package replicaset_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/kubectltest"
)

func scaleRS(t *testing.T, c *cluster, ns, name string, n int32) {
	t.Helper()
	ctx := context.Background()
	s, err := c.admin.AppsV1().ReplicaSets(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get scale: %v", err)
	}
	s.Spec.Replicas = n
	if _, err := c.admin.AppsV1().ReplicaSets(ns).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scale to %d: %v", n, err)
	}
}

// waitRS waits until the ReplicaSet has observed its generation and has
// exactly n live pods, and checks that the counter sees exactly n too.
func waitRS(t *testing.T, c *cluster, pc *podCounter, ns, name string, n int32) *appsv1.ReplicaSet {
	t.Helper()
	var rs *appsv1.ReplicaSet
	controllertest.Eventually(t, fmt.Sprintf("%s/%s at %d replicas", ns, name, n), func(ctx context.Context) (bool, error) {
		var err error
		if rs, err = c.admin.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return false, err
		}
		return rs.Status.ObservedGeneration == rs.Generation && rs.Status.Replicas == n && len(pc.live()) == int(n), nil
	})
	return rs
}

func TestScaleReplicaSet(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	ns := c.Namespace(t, "scale")
	pc := c.countPods(t, ns)
	rs, err := c.admin.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(ns, "web", 0, "web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitRS(t, c, pc, ns, "web", 0)
	for _, n := range []int32{5, 2, 0} {
		scaleRS(t, c, ns, "web", n)
		got := waitRS(t, c, pc, ns, "web", n)
		if got.Status.TerminatingReplicas == nil || *got.Status.TerminatingReplicas != 0 {
			t.Errorf("terminatingReplicas = %v, want 0", got.Status.TerminatingReplicas)
		}
		for _, p := range pc.live() {
			ref, count := controllerOf(p)
			if count != 1 || ref.UID != rs.UID || ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" ||
				!ptr.Deref(ref.BlockOwnerDeletion, false) {
				t.Errorf("pod %s owner references %+v", p.Name, p.OwnerReferences)
			}
			if !strings.HasPrefix(p.Name, "web-") || p.GenerateName != "web-" {
				t.Errorf("pod name %q generateName %q", p.Name, p.GenerateName)
			}
		}
	}
	if got := pc.total(); got != 5 {
		t.Errorf("%d pods were created over 0->5->2->0, want 5", got)
	}
	evs, err := c.admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, e := range evs.Items {
		if e.InvolvedObject.UID == rs.UID && e.Source.Component == "replicaset-controller" {
			reasons[e.Reason] = true
		}
	}
	if !reasons["SuccessfulCreate"] || !reasons["SuccessfulDelete"] {
		t.Errorf("event reasons %v, want SuccessfulCreate and SuccessfulDelete", reasons)
	}
}

func TestManyReplicaSetsNoDuplicates(t *testing.T) {
	const sets, per = 50, 20
	c := startCluster(t)
	ctx := context.Background()
	ns := c.Namespace(t, "many")
	pc := c.countPods(t, ns)
	var wg sync.WaitGroup
	errs := make(chan error, sets)
	for i := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("rs-%02d", i)
			if _, err := c.admin.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(ns, name, per, name), metav1.CreateOptions{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "all pods", func(ctx context.Context) (bool, error) {
		list, err := c.admin.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, rs := range list.Items {
			if rs.Status.Replicas != per {
				return false, nil
			}
		}
		return len(list.Items) == sets && len(pc.live()) == sets*per, nil
	})
	pods, err := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	perOwner := map[types.UID]int{}
	for _, p := range pods.Items {
		ref, n := controllerOf(&p)
		if n != 1 {
			t.Fatalf("pod %s has %d controller references", p.Name, n)
		}
		if p.Labels["app"]+"-" != p.GenerateName {
			t.Errorf("pod %s with labels %v created by the wrong owner %s", p.Name, p.Labels, ref.Name)
		}
		perOwner[ref.UID]++
	}
	if len(pods.Items) != sets*per || len(perOwner) != sets {
		t.Fatalf("%d pods over %d owners, want %d over %d", len(pods.Items), len(perOwner), sets*per, sets)
	}
	for uid, n := range perOwner {
		if n != per {
			t.Errorf("owner %s has %d pods", uid, n)
		}
	}
	if got := pc.total(); got != sets*per {
		t.Errorf("%d pods were ever created, want %d", got, sets*per)
	}
}

func TestAdoptAndRelease(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	ns := c.Namespace(t, "adopt")
	pc := c.countPods(t, ns)
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: ns, Labels: map[string]string{"app": "adopt"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
	}
	orphan, err := c.admin.CoreV1().Pods(ns).Create(ctx, orphan, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := c.admin.AppsV1().ReplicaSets(ns).Create(ctx, replicaSet(ns, "adopter", 1, "adopt"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "adoption", func(ctx context.Context) (bool, error) {
		p, err := c.admin.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ref, n := controllerOf(p)
		return n == 1 && ref.UID == rs.UID && ptr.Deref(ref.BlockOwnerDeletion, false), nil
	})
	waitRS(t, c, pc, ns, "adopter", 1)
	if got := pc.total(); got != 1 {
		t.Fatalf("%d pods exist after adopting the orphan, want 1", got)
	}

	// The pod stops matching: it is released and replaced.
	// The controller may still be patching the pod: retry stale updates.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := c.admin.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Labels = map[string]string{"app": "elsewhere"}
		_, err = c.admin.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "release", func(ctx context.Context) (bool, error) {
		p, err := c.admin.CoreV1().Pods(ns).Get(ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(p.OwnerReferences) == 0, nil
	})
	controllertest.Eventually(t, "replacement", func(ctx context.Context) (bool, error) {
		rs, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "adopter", metav1.GetOptions{})
		return err == nil && rs.Status.Replicas == 1 && len(pc.live()) == 2, err
	})
	if got := pc.total(); got != 2 {
		t.Errorf("%d pods created, want 2 (the released orphan and one replacement)", got)
	}
}

func TestReadyAndAvailableReplicas(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	ns := c.Namespace(t, "ready")
	pc := c.countPods(t, ns)
	tests := []struct {
		name            string
		minReadySeconds int32
	}{
		{name: "plain", minReadySeconds: 0},
		{name: "minready", minReadySeconds: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := replicaSet(ns, tc.name, 3, tc.name)
			in.Spec.MinReadySeconds = tc.minReadySeconds
			if _, err := c.admin.AppsV1().ReplicaSets(ns).Create(ctx, in, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			var mine []*corev1.Pod
			controllertest.Eventually(t, "pods", func(ctx context.Context) (bool, error) {
				mine = mine[:0]
				for _, p := range pc.live() {
					if p.Labels["app"] == tc.name {
						mine = append(mine, p)
					}
				}
				return len(mine) == 3, nil
			})
			for _, p := range mine[:2] {
				if err := controllertest.SetPodReady(ctx, c.admin, p.Namespace, p.Name); err != nil {
					t.Fatal(err)
				}
			}
			var seenUnavailable bool
			controllertest.Eventually(t, "2 ready and available", func(ctx context.Context) (bool, error) {
				rs, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, tc.name, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				if rs.Status.ReadyReplicas == 2 && rs.Status.AvailableReplicas < 2 {
					seenUnavailable = true
				}
				return rs.Status.Replicas == 3 && rs.Status.ReadyReplicas == 2 && rs.Status.AvailableReplicas == 2, nil
			})
			if tc.minReadySeconds > 0 && !seenUnavailable {
				t.Errorf("pods counted available before minReadySeconds")
			}
		})
	}
}

func TestTerminatingReplicas(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	ns := c.Namespace(t, "terminating")
	in := replicaSet(ns, "held", 2, "held")
	in.Spec.Template.Finalizers = []string{"example.com/hold"}
	if _, err := c.admin.AppsV1().ReplicaSets(ns).Create(ctx, in, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "2 replicas", func(ctx context.Context) (bool, error) {
		rs, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "held", metav1.GetOptions{})
		return err == nil && rs.Status.Replicas == 2, err
	})
	sc, err := c.admin.AppsV1().ReplicaSets(ns).GetScale(ctx, "held", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.Spec.Replicas = 1
	if _, err := c.admin.AppsV1().ReplicaSets(ns).UpdateScale(ctx, "held", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "1 replica and 1 terminating", func(ctx context.Context) (bool, error) {
		rs, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "held", metav1.GetOptions{})
		return err == nil && rs.Status.Replicas == 1 && ptr.Deref(rs.Status.TerminatingReplicas, -1) == 1, err
	})
	pods, err := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Fatalf("%d pods, want 2 (one terminating)", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			continue
		}
		p.Finalizers = nil
		if _, err := c.admin.CoreV1().Pods(ns).Update(ctx, &p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	controllertest.Eventually(t, "terminating gone", func(ctx context.Context) (bool, error) {
		rs, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "held", metav1.GetOptions{})
		return err == nil && rs.Status.Replicas == 1 && ptr.Deref(rs.Status.TerminatingReplicas, -1) == 0, err
	})
}

func TestReplicationControllerKubectlScale(t *testing.T) {
	kubectl, err := kubectltest.Path()
	if err != nil {
		t.Fatal(err)
	}
	c := startCluster(t)
	ctx := context.Background()
	ns := c.Namespace(t, "rc")
	pc := c.countPods(t, ns)
	rc, err := c.admin.CoreV1().ReplicationControllers(ns).Create(ctx, replicationController(ns, "legacy", 1, "legacy"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kcfg := filepath.Join(t.TempDir(), "kubeconfig")
	data, err := os.ReadFile(c.CP.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kcfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	waitRC := func(n int32) {
		t.Helper()
		controllertest.Eventually(t, fmt.Sprintf("rc at %d", n), func(ctx context.Context) (bool, error) {
			got, err := c.admin.CoreV1().ReplicationControllers(ns).Get(ctx, "legacy", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return got.Status.ObservedGeneration == got.Generation && got.Status.Replicas == n && len(pc.live()) == int(n), nil
		})
	}
	waitRC(1)
	for _, n := range []int32{3, 1} {
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kcfg, "-n", ns, "scale", "rc", "legacy", fmt.Sprintf("--replicas=%d", n)).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl scale: %v\n%s", err, out)
		}
		if want := "replicationcontroller/legacy scaled"; !strings.Contains(string(out), want) {
			t.Errorf("kubectl said %q, want %q", out, want)
		}
		waitRC(n)
		for _, p := range pc.live() {
			ref, count := controllerOf(p)
			if count != 1 || ref.UID != rc.UID || ref.Kind != "ReplicationController" || ref.APIVersion != "v1" {
				t.Errorf("pod %s owner references %+v", p.Name, p.OwnerReferences)
			}
		}
	}
	if got := pc.total(); got != 3 {
		t.Errorf("%d pods created over 1->3->1, want 3", got)
	}
	controllertest.Eventually(t, "events", func(ctx context.Context) (bool, error) {
		evs, err := c.admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Kind == "ReplicationController" && e.Reason == "SuccessfulDelete" &&
				e.Source.Component == "replication-controller" && strings.HasPrefix(e.Message, "Deleted pod: legacy-") {
				return true, nil
			}
		}
		return false, nil
	})
}
