package hollownode_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
	"kplane/internal/controllers/nodelifecycle"
	"kplane/internal/hollownode"
	"kplane/internal/leaderelection"
	"kplane/internal/scheduler"
)

// TestFleetInCluster runs hollow nodes under the real controller manager
// and scheduler: a Deployment becomes available, a Job completes, and a
// node whose heartbeats stop is marked Unknown by the node lifecycle
// controller, then Ready again once they resume.
func TestFleetInCluster(t *testing.T) {
	env := controllertest.Start(t, manager.Config{
		Controllers: []string{"deployment", "replicaset", "job", "nodelifecycle", "garbagecollector"},
		NodeLifecycle: nodelifecycle.Options{
			NodeMonitorGracePeriod: 4 * time.Second, NodeMonitorPeriod: 500 * time.Millisecond,
		},
	})
	runScheduler(t, env)
	fleet, _ := startFleet(t, env, hollownode.Config{
		Count: 5, LeaseRenewInterval: time.Second, LeaseDuration: 4 * time.Second,
		// Pending (ContainerCreating) first, then Running, as a kubelet.
		Pods: hollownode.PodProfile{JobRunDuration: time.Second, PendingStatus: true},
	})
	ctx := context.Background()
	ns := env.Namespace(t, "apps")

	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](20),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
			},
		},
	}
	if _, err := env.Admin.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "batch", Namespace: ns},
		Spec: batchv1.JobSpec{
			Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "work", Image: "busybox"}},
			}},
		},
	}
	if _, err := env.Admin.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "deployment available", func(ctx context.Context) (bool, error) {
		d, err := env.Admin.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 20 && d.Status.UpdatedReplicas == 20, err
	})
	controllertest.Eventually(t, "job complete", func(ctx context.Context) (bool, error) {
		j, err := env.Admin.BatchV1().Jobs(ns).Get(ctx, "batch", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded == 3, err
	})

	// Stop one node's heartbeats: the node lifecycle controller marks it
	// Unknown after its 4s grace period.
	victim := fleet.Nodes()[2]
	if err := fleet.SetFault(victim, hollownode.FaultStopHeartbeats); err != nil {
		t.Fatal(err)
	}
	waitNodeReady := func(want corev1.ConditionStatus) {
		t.Helper()
		controllertest.Eventually(t, victim+" Ready="+string(want), func(ctx context.Context) (bool, error) {
			n, err := env.Admin.CoreV1().Nodes().Get(ctx, victim, metav1.GetOptions{})
			return err == nil && nodeReady(n) == want, err
		})
	}
	waitNodeReady(corev1.ConditionUnknown)
	if err := fleet.SetFault(victim, hollownode.FaultNone); err != nil {
		t.Fatal(err)
	}
	waitNodeReady(corev1.ConditionTrue)
	if err := fleet.SetFault(victim, hollownode.FaultNotReady); err != nil {
		t.Fatal(err)
	}
	waitNodeReady(corev1.ConditionFalse)
}

// runScheduler runs the real scheduler with its own identity until the
// test ends.
func runScheduler(t *testing.T, env *controllertest.Env) {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", env.CP.SchedulerKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{RESTConfig: rc, LeaderElection: leaderelection.Options{Disable: true}, Seed: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
