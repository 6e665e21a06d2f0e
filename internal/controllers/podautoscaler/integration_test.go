package podautoscaler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
	"kplane/internal/controllers/podautoscaler"
	"kplane/internal/usage"
)

// load plays kubelet and workload for the pods labelled app=<app> in ns:
// it binds new pods to node, marks them Running and Ready, finishes the
// deletion of deleted ones, and spreads a total CPU load (millicores,
// changed with set) evenly over the live pods through the
// kplane.io/cpu-usage annotation, so more replicas mean less usage each.
type load struct {
	total atomic.Int64
	// key is the annotation set; default usage.AnnotationCPU (the pod's
	// total).
	key string
}

func (l *load) set(milli int64) { l.total.Store(milli) }

func (l *load) run(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, app, node string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			continue
		}
		var live []corev1.Pod
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				_ = c.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(int64(0))})
				continue
			}
			live = append(live, p)
		}
		if len(live) == 0 {
			continue
		}
		each := fmt.Sprintf("%dm", l.total.Load()/int64(len(live)))
		key := l.key
		if key == "" {
			key = usage.AnnotationCPU
		}
		for _, p := range live {
			if p.Spec.NodeName == "" {
				err := c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
				if err != nil {
					continue
				}
			}
			if p.Status.Phase != corev1.PodRunning {
				if err := controllertest.SetPodReady(ctx, c, ns, p.Name); err != nil {
					continue
				}
			}
			if p.Annotations[key] != each {
				patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: each}}})
				_, _ = c.CoreV1().Pods(ns).Patch(ctx, p.Name, types.MergePatchType, patch, metav1.PatchOptions{})
			}
		}
	}
}

// TestHPAScalesDeploymentWithUsage runs the deployment, replicaset and HPA
// controllers (1s sync period) against a real control plane: the HPA scales
// a Deployment up when the simulated CPU usage rises and back down, after
// its short scale-down stabilization window, when it falls.
func TestHPAScalesDeploymentWithUsage(t *testing.T) {
	env := controllertest.Start(t, manager.Config{
		Controllers:             []string{"deployment", "replicaset", podautoscaler.Name},
		HorizontalPodAutoscaler: podautoscaler.Options{SyncPeriod: time.Second},
	})
	c := env.Admin
	ctx := context.Background()
	ns := env.Namespace(t, "hpa")
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "hpa-node"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	_, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var l load
	l.set(40) // 40% of one pod's request: below the 50% target
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { l.run(runCtx, t, c, ns, "web", "hpa-node") })
	t.Cleanup(func() { stop(); wg.Wait() })

	_, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To(int32(1)), MaxReplicas: 6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(50))}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				// Up by 10 pods per 15s: faster than the default's 4.
				ScaleUp:   &autoscalingv2.HPAScalingRules{Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 10, PeriodSeconds: 15}}},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(3))},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// waitFor waits until the HPA wants n replicas, the Deployment has
	// them, and the status says why.
	waitFor := func(n int32) *autoscalingv2.HorizontalPodAutoscaler {
		t.Helper()
		var hpa *autoscalingv2.HorizontalPodAutoscaler
		controllertest.Eventually(t, fmt.Sprintf("HPA at %d replicas", n), func(ctx context.Context) (bool, error) {
			d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			hpa, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return *d.Spec.Replicas == n && hpa.Status.DesiredReplicas == n && hpa.Status.CurrentReplicas == n && len(hpa.Status.CurrentMetrics) == 1, nil
		})
		return hpa
	}
	hpa := waitFor(1)
	if cond := condition(hpa, autoscalingv2.ScalingActive); cond.Status != corev1.ConditionTrue || cond.Reason != "ValidMetricFound" {
		t.Errorf("ScalingActive = %+v, want True/ValidMetricFound", cond)
	}
	if cur := hpa.Status.CurrentMetrics[0].Resource; cur == nil || cur.Name != corev1.ResourceCPU || cur.Current.AverageUtilization == nil {
		t.Errorf("currentMetrics = %+v, want cpu utilization", hpa.Status.CurrentMetrics)
	}

	// 200m over n pods of 100m requests: 50% utilization at 4 pods.
	l.set(200)
	hpa = waitFor(4)
	if cond := condition(hpa, autoscalingv2.AbleToScale); cond.Status != corev1.ConditionTrue {
		t.Errorf("AbleToScale = %+v, want True", cond)
	}
	if hpa.Status.LastScaleTime == nil || hpa.Status.ObservedGeneration == nil {
		t.Errorf("status lacks lastScaleTime or observedGeneration: %+v", hpa.Status)
	}
	waitEvent(t, c, ns, "SuccessfulRescale", "cpu resource utilization (percentage of request) above target")

	// Above maxReplicas the count stops at 6 and ScalingLimited says why.
	l.set(2000)
	hpa = waitFor(6)
	controllertest.Eventually(t, "ScalingLimited TooManyReplicas", func(ctx context.Context) (bool, error) {
		hpa, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := condition(hpa, autoscalingv2.ScalingLimited)
		return cond.Status == corev1.ConditionTrue && cond.Reason == "TooManyReplicas", nil
	})

	// Load falls: down to 1 after the 3s stabilization window.
	l.set(30)
	waitFor(1)
	waitEvent(t, c, ns, "SuccessfulRescale", "All metrics below target")
}

// TestHPAContainerResource scales on one container's CPU: the app
// container's usage rises while its big sidecar idles at half its request,
// so only a ContainerResource metric sees the app container's load.
func TestHPAContainerResource(t *testing.T) {
	env := controllertest.Start(t, manager.Config{
		Controllers:             []string{"deployment", "replicaset", podautoscaler.Name},
		HorizontalPodAutoscaler: podautoscaler.Options{SyncPeriod: time.Second},
	})
	c := env.Admin
	ctx := context.Background()
	ns := env.Namespace(t, "hpa-container")
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "hpa-container-node"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "api"}
	req := func(cpu string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}
	}
	_, err := c.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: "api", Resources: req("100m")},
					{Name: "sidecar", Image: "proxy", Resources: req("2")},
				}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := load{key: usage.AnnotationCPU + ".app"}
	l.set(300) // 300% of one app container's request: 6 at 50%, capped at 3
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { l.run(runCtx, t, c, ns, "api", "hpa-container-node") })
	t.Cleanup(func() { stop(); wg.Wait() })
	_, err = c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"},
			MaxReplicas:    3,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ContainerResourceMetricSourceType, ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name: corev1.ResourceCPU, Container: "app",
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(50))}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "HPA at 3 replicas", func(ctx context.Context) (bool, error) {
		hpa, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cur := hpa.Status.CurrentMetrics
		return hpa.Status.DesiredReplicas == 3 && hpa.Status.CurrentReplicas == 3 && len(cur) == 1 &&
			cur[0].ContainerResource != nil && cur[0].ContainerResource.Container == "app", nil
	})
	waitEvent(t, c, ns, "SuccessfulRescale", "cpu container resource utilization (percentage of request) above target")
}

// TestHPAReportsMissingTarget checks the AbleToScale condition and the
// FailedGetScale event for a target that does not exist.
func TestHPAReportsMissingTarget(t *testing.T) {
	env := controllertest.Start(t, manager.Config{
		Controllers:             []string{podautoscaler.Name},
		HorizontalPodAutoscaler: podautoscaler.Options{SyncPeriod: time.Second},
	})
	c := env.Admin
	ctx := context.Background()
	ns := env.Namespace(t, "hpa-missing")
	_, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "ghost"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "ghost"},
			MaxReplicas:    3,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, "AbleToScale FailedGetScale", func(ctx context.Context) (bool, error) {
		hpa, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "ghost", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond := condition(hpa, autoscalingv2.AbleToScale)
		return cond.Status == corev1.ConditionFalse && cond.Reason == "FailedGetScale", nil
	})
	waitEvent(t, c, ns, "FailedGetScale", "not found")
}

func condition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) autoscalingv2.HorizontalPodAutoscalerCondition {
	for _, c := range hpa.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return autoscalingv2.HorizontalPodAutoscalerCondition{}
}

func waitEvent(t *testing.T, c kubernetes.Interface, ns, reason, msg string) {
	t.Helper()
	controllertest.Eventually(t, fmt.Sprintf("event %s %q", reason, msg), func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Reason == reason && strings.Contains(e.Message, msg) && e.Source.Component == "horizontal-pod-autoscaler" {
				return true, nil
			}
		}
		return false, nil
	})
}
