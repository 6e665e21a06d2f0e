package deployment_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

// neverReadyImage marks pod templates whose pods the fake kubelet leaves
// unready, to hold a rollout mid-way.
const neverReadyImage = "kplane.invalid/never-ready:1"

// cluster is a control plane plus a controller manager running the
// deployment and replicaset controllers, shared by this package's tests.
type cluster struct {
	*controllertest.Env
	admin kubernetes.Interface
}

var shared = controllertest.Shared{Config: manager.Config{Controllers: []string{"deployment", "replicaset"}, QPS: 1000, Burst: 2000}}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Stop()
	os.Exit(code)
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	env := shared.Get(t)
	return &cluster{Env: env, admin: env.Admin}
}

// kubelet plays the node agent for one namespace: every pod that appears
// becomes Running and Ready after delay, unless its image is
// neverReadyImage. It stops with the test.
func (c *cluster) kubelet(t testing.TB, ns string, delay time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.admin.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("kubelet watch: %v", err)
	}
	work := make(chan string, 100000)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(work)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type != watch.Added || p.Spec.Containers[0].Image == neverReadyImage {
				continue
			}
			work <- p.Name
		}
	})
	for range 8 {
		wg.Go(func() {
			for name := range work {
				select {
				case <-ctx.Done():
					continue
				case <-time.After(delay):
				}
				_ = controllertest.SetPodReady(ctx, c.admin, ns, name)
			}
		})
	}
	t.Cleanup(func() {
		cancel()
		w.Stop()
		wg.Wait()
	})
}

// deploymentObj builds a Deployment with app=<name> labels.
func deploymentObj(ns, name string, n int32, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(n),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
			},
		},
	}
}

func rolling(surge, unavailable intstr.IntOrString) appsv1.DeploymentStrategy {
	return appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}
}

// waitComplete waits until the Deployment's latest generation is fully
// rolled out and available, as `kubectl rollout status` decides it.
func (c *cluster) waitComplete(t testing.TB, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	controllertest.Eventually(t, "deployment "+name+" rolled out", func(ctx context.Context) (bool, error) {
		var err error
		d, err = c.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		want := *d.Spec.Replicas
		return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
			d.Status.Replicas == want && d.Status.AvailableReplicas == want, nil
	})
	return d
}

// replicaSets lists the ReplicaSets controlled by the Deployment.
func (c *cluster) replicaSets(t testing.TB, d *appsv1.Deployment) []appsv1.ReplicaSet {
	t.Helper()
	list, err := c.admin.AppsV1().ReplicaSets(d.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list replica sets: %v", err)
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	return out
}

func (c *cluster) updateDeployment(t testing.TB, ns, name string, mutate func(*appsv1.Deployment)) {
	t.Helper()
	controllertest.Eventually(t, "update deployment "+name, func(ctx context.Context) (bool, error) {
		d, err := c.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		mutate(d)
		_, err = c.admin.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err == nil, nil
	})
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}
