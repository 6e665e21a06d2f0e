package statefulset_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

const timeout = 60 * time.Second

func waitPod(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		got = p
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("wait for pod %s: %v", name, err)
	}
	return got
}

func absent(ctx context.Context, t *testing.T, c kubernetes.Interface, name string) bool {
	t.Helper()
	_, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return apierrors.IsNotFound(err)
}

func markReady(ctx context.Context, t *testing.T, c kubernetes.Interface, p *corev1.Pod) {
	t.Helper()
	if err := controllertest.SetPodReady(ctx, c, "default", p.Name); err != nil {
		t.Fatalf("mark %s ready: %v", p.Name, err)
	}
}

func TestStatefulSetOrderedReady(t *testing.T) {
	c := controllertest.Start(t, manager.Config{Controllers: []string{"statefulset"}}).Admin
	ctx := context.Background()
	lbls := map[string]string{"app": "web"}
	set := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr(int32(3)), ServiceName: "web-svc",
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}
	if _, err := c.AppsV1().StatefulSets("default").Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"web-0", "web-1", "web-2"} {
		p := waitPod(ctx, t, c, name)
		if p.Spec.Hostname != name || p.Spec.Subdomain != "web-svc" {
			t.Errorf("pod %s hostname %q subdomain %q", name, p.Spec.Hostname, p.Spec.Subdomain)
		}
		if p.Labels[appsv1.StatefulSetPodNameLabel] != name || p.Labels[appsv1.PodIndexLabel] != string(rune('0'+i)) ||
			p.Labels[appsv1.StatefulSetRevisionLabel] == "" {
			t.Errorf("pod %s labels %v", name, p.Labels)
		}
		if i < 2 {
			// The next ordinal waits for this one to be Running and Ready.
			time.Sleep(500 * time.Millisecond)
			if next := []string{"web-1", "web-2"}[i]; !absent(ctx, t, c, next) {
				t.Fatalf("%s created before %s was ready", next, name)
			}
		}
		markReady(ctx, t, c, p)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		s, err := c.AppsV1().StatefulSets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := s.Status
		return st.Replicas == 3 && st.ReadyReplicas == 3 && st.AvailableReplicas == 3 && st.CurrentReplicas == 3 &&
			st.UpdatedReplicas == 3 && st.CurrentRevision != "" && st.CurrentRevision == st.UpdateRevision &&
			st.ObservedGeneration == s.Generation, nil
	})
	if err != nil {
		t.Fatalf("statefulset status never showed 3 ready replicas: %v", err)
	}

	w, err := c.CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	updateSTS(ctx, t, c, func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr(int32(1)) })
	var deleted []string
	deadline := time.After(timeout)
	for len(deleted) < 2 {
		select {
		case ev := <-w.ResultChan():
			if ev.Type == watch.Deleted {
				deleted = append(deleted, ev.Object.(*corev1.Pod).Name)
			}
		case <-deadline:
			t.Fatalf("scale down deleted %v, want web-2 then web-1", deleted)
		}
	}
	if deleted[0] != "web-2" || deleted[1] != "web-1" {
		t.Errorf("scale down deleted %v, want web-2 then web-1", deleted)
	}
	if absent(ctx, t, c, "web-0") {
		t.Errorf("web-0 deleted by scale down to 1")
	}

	// Rolling update with partition 1 over 3 replicas: web-2 then web-1
	// get the new template, web-0 keeps the old one.
	updateSTS(ctx, t, c, func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr(int32(3)) })
	for _, name := range []string{"web-1", "web-2"} {
		markReady(ctx, t, c, waitPod(ctx, t, c, name))
	}
	old := map[string]types.UID{}
	for _, name := range []string{"web-0", "web-1", "web-2"} {
		old[name] = waitPod(ctx, t, c, name).UID
	}
	updateSTS(ctx, t, c, func(s *appsv1.StatefulSet) {
		s.Spec.Template.Spec.Containers[0].Image = "nginx:2"
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}
	})
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		images := map[string]string{}
		for i := range list.Items {
			p := &list.Items[i]
			if p.DeletionTimestamp == nil && p.Status.Phase == "" || p.Status.Phase == corev1.PodPending {
				markReady(ctx, t, c, p) // play kubelet for (re)created pods
			}
			images[p.Name] = p.Spec.Containers[0].Image
		}
		return len(images) == 3 && images["web-0"] == "nginx" && images["web-1"] == "nginx:2" && images["web-2"] == "nginx:2", nil
	})
	if err == nil && waitPod(ctx, t, c, "web-0").UID != old["web-0"] {
		t.Errorf("web-0 below the partition was replaced")
	}
	if err != nil {
		t.Fatalf("rolling update with partition 1: %v", err)
	}
	s, err := c.AppsV1().StatefulSets("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status.CurrentRevision == s.Status.UpdateRevision {
		t.Errorf("currentRevision %q became the update revision although web-0 is below the partition", s.Status.CurrentRevision)
	}
}

func ptr[T any](v T) *T { return &v }

// updateSTS changes the "web" StatefulSet, retrying when the controller's
// status writes made the copy stale (as any client must).
func updateSTS(ctx context.Context, t *testing.T, c kubernetes.Interface, mutate func(*appsv1.StatefulSet)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := c.AppsV1().StatefulSets("default").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		mutate(s)
		_, err = c.AppsV1().StatefulSets("default").Update(ctx, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
