package deployment_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/deployment"
)

// TestRollingUpdateBounds rolls 10 replicas to a new template while the
// fake kubelet readies new pods after a short delay, and checks the
// surge/unavailability bounds at every state the watches observe.
func TestRollingUpdateBounds(t *testing.T) {
	c := startCluster(t)
	cases := []struct {
		name               string
		surge, unavailable intstr.IntOrString
		// resolved: surge rounds up, unavailable rounds down
		wantSurge, wantUnavailable int32
	}{
		{"absolute", intstr.FromInt32(3), intstr.FromInt32(2), 3, 2},
		{"percent", intstr.FromString("25%"), intstr.FromString("25%"), 3, 2},
		{"surge-only", intstr.FromInt32(1), intstr.FromInt32(0), 1, 0},
		{"unavailable-only", intstr.FromInt32(0), intstr.FromString("15%"), 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := c.Namespace(t, "roll-"+tc.name)
			c.kubelet(t, ns, 30*time.Millisecond)
			d := deploymentObj(ns, "web", 10, "nginx:1")
			d.Spec.Strategy = rolling(tc.surge, tc.unavailable)
			ctx := context.Background()
			if _, err := c.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create: %v", err)
			}
			first := c.waitComplete(t, ns, "web")

			rw := c.watchRollout(t, ns, 10, tc.wantSurge, tc.wantUnavailable)
			c.updateDeployment(t, ns, "web", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "nginx:2" })
			done := c.waitComplete(t, ns, "web")
			controllertest.Eventually(t, "old replica set scaled to 0", func(ctx context.Context) (bool, error) {
				for _, rs := range c.replicaSets(t, done) {
					if rs.Spec.Template.Spec.Containers[0].Image == "nginx:1" && (*rs.Spec.Replicas != 0 || rs.Status.Replicas != 0) {
						return false, nil
					}
				}
				return true, nil
			})
			rw.verify(t)

			// The new ReplicaSet is named and labelled with the template hash.
			hash := deployment.ComputeHash(&done.Spec.Template, nil)
			rs, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "web-"+hash, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("new replica set web-%s: %v", hash, err)
			}
			if rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash || rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
				rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
				t.Errorf("new replica set hash labels/selector = %v / %v, want %s", rs.Labels, rs.Spec.Selector.MatchLabels, hash)
			}
			wantAnn := map[string]string{
				deployment.RevisionAnnotation: "2", deployment.DesiredReplicasAnnotation: "10",
				deployment.MaxReplicasAnnotation: fmt.Sprint(10 + tc.wantSurge),
			}
			for k, v := range wantAnn {
				if rs.Annotations[k] != v {
					t.Errorf("new replica set annotation %s = %q, want %q", k, rs.Annotations[k], v)
				}
			}
			if done.Annotations[deployment.RevisionAnnotation] != "2" || first.Annotations[deployment.RevisionAnnotation] != "1" {
				t.Errorf("deployment revision: first %q, after update %q, want 1 and 2",
					first.Annotations[deployment.RevisionAnnotation], done.Annotations[deployment.RevisionAnnotation])
			}
			checkCompleteConditions(t, done, rs.Name)
			if done.Status.UnavailableReplicas != 0 || done.Status.ReadyReplicas != 10 {
				t.Errorf("status unavailable=%d ready=%d, want 0 and 10", done.Status.UnavailableReplicas, done.Status.ReadyReplicas)
			}
			checkScalingEvents(t, c, ns, "web", rs.Name)
		})
	}
}

func checkCompleteConditions(t *testing.T, d *appsv1.Deployment, newRS string) {
	t.Helper()
	p := condition(d, appsv1.DeploymentProgressing)
	controllertest.Eventually(t, "Progressing=NewReplicaSetAvailable", func(ctx context.Context) (bool, error) {
		cur, err := startCluster(t).admin.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p = condition(cur, appsv1.DeploymentProgressing)
		return p != nil && p.Reason == "NewReplicaSetAvailable", nil
	})
	if want := fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS); p.Status != corev1.ConditionTrue || p.Message != want {
		t.Errorf("Progressing = %s %q, want True %q", p.Status, p.Message, want)
	}
	a := condition(d, appsv1.DeploymentAvailable)
	if a == nil || a.Status != corev1.ConditionTrue || a.Reason != "MinimumReplicasAvailable" || a.Message != "Deployment has minimum availability." {
		t.Errorf("Available condition = %+v", a)
	}
}

// checkScalingEvents asserts the ScalingReplicaSet events carry
// upstream's messages.
func checkScalingEvents(t *testing.T, c *cluster, ns, name, newRS string) {
	t.Helper()
	var msgs []string
	controllertest.Eventually(t, "ScalingReplicaSet events", func(ctx context.Context) (bool, error) {
		evs, err := c.admin.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		msgs = msgs[:0]
		up, down := false, false
		for _, e := range evs.Items {
			if e.Reason != "ScalingReplicaSet" || e.InvolvedObject.Name != name || e.Source.Component != "deployment-controller" {
				continue
			}
			msgs = append(msgs, e.Message)
			up = up || strings.HasPrefix(e.Message, "Scaled up replica set "+newRS+" from ")
			down = down || strings.HasPrefix(e.Message, "Scaled down replica set "+name+"-")
		}
		return up && down, nil
	})
	for _, m := range msgs {
		// The event recorder aggregates bursts of similar events, as upstream.
		m = strings.TrimPrefix(m, "(combined from similar events): ")
		var op, rs string
		var from, to int
		if n, _ := fmt.Sscanf(m, "Scaled %s replica set %s from %d to %d", &op, &rs, &from, &to); n != 4 || (op == "up") != (to > from) {
			t.Errorf("event message %q does not read \"Scaled up|down replica set <rs> from <n> to <m>\"", m)
		}
	}
}

// TestRecreate checks that no pod of the new template exists while an old
// pod still does.
func TestRecreate(t *testing.T) {
	c := startCluster(t)
	ns := c.Namespace(t, "recreate")
	c.kubelet(t, ns, 20*time.Millisecond)
	d := deploymentObj(ns, "db", 4, "postgres:1")
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	ctx := context.Background()
	if _, err := c.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	c.waitComplete(t, ns, "db")
	pods, err := c.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.admin.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: pods.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	images := map[string]string{}
	for _, p := range pods.Items {
		images[p.Name] = p.Spec.Containers[0].Image
	}
	c.updateDeployment(t, ns, "db", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "postgres:2" })
	newSeen, deadline := 0, time.After(90*time.Second)
	for newSeen < 4 {
		select {
		case ev := <-w.ResultChan():
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == "DELETED" || p.DeletionTimestamp != nil {
				delete(images, p.Name)
				continue
			}
			if _, known := images[p.Name]; !known && p.Spec.Containers[0].Image == "postgres:2" {
				newSeen++
				for name, img := range images {
					if img == "postgres:1" {
						t.Fatalf("new pod %s created while old pod %s exists", p.Name, name)
					}
				}
			}
			images[p.Name] = p.Spec.Containers[0].Image
		case <-deadline:
			t.Fatalf("saw %d of 4 new pods", newSeen)
		}
	}
	done := c.waitComplete(t, ns, "db")
	if rs := c.replicaSets(t, done); len(rs) != 2 {
		t.Errorf("got %d replica sets, want 2", len(rs))
	}
}

// TestPauseResume checks that a paused Deployment does not roll out a
// template change, records the pause in Progressing, and rolls out on
// resume.
func TestPauseResume(t *testing.T) {
	c := startCluster(t)
	ns := c.Namespace(t, "pause")
	c.kubelet(t, ns, 10*time.Millisecond)
	ctx := context.Background()
	if _, err := c.admin.AppsV1().Deployments(ns).Create(ctx, deploymentObj(ns, "api", 3, "api:1"), metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	c.waitComplete(t, ns, "api")
	c.updateDeployment(t, ns, "api", func(d *appsv1.Deployment) {
		d.Spec.Paused = true
		d.Spec.Template.Spec.Containers[0].Image = "api:2"
	})
	var d *appsv1.Deployment
	controllertest.Eventually(t, "paused condition", func(ctx context.Context) (bool, error) {
		var err error
		d, err = c.admin.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(d, appsv1.DeploymentProgressing)
		return d.Status.ObservedGeneration == d.Generation && p != nil && p.Reason == "DeploymentPaused", nil
	})
	if p := condition(d, appsv1.DeploymentProgressing); p.Status != corev1.ConditionUnknown || p.Message != "Deployment is paused" {
		t.Errorf("paused Progressing = %s %q", p.Status, p.Message)
	}
	// Scaling still works while paused; rolling out does not.
	c.updateDeployment(t, ns, "api", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(5)) })
	controllertest.Eventually(t, "paused scale to 5", func(ctx context.Context) (bool, error) {
		d, err := c.admin.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
		return err == nil && d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 5, err
	})
	if rss := c.replicaSets(t, d); len(rss) != 1 || rss[0].Spec.Template.Spec.Containers[0].Image != "api:1" {
		t.Fatalf("paused deployment has replica sets %v, want only the api:1 one", rsNames(rss))
	}
	c.updateDeployment(t, ns, "api", func(d *appsv1.Deployment) { d.Spec.Paused = false })
	done := c.waitComplete(t, ns, "api")
	if img := done.Spec.Template.Spec.Containers[0].Image; img != "api:2" {
		t.Fatalf("image %s", img)
	}
	if rss := c.replicaSets(t, done); len(rss) != 2 {
		t.Errorf("after resume: replica sets %v, want 2", rsNames(rss))
	}
}

func rsNames(rss []appsv1.ReplicaSet) []string {
	var out []string
	for _, rs := range rss {
		out = append(out, fmt.Sprintf("%s(%d,rev=%s)", rs.Name, *rs.Spec.Replicas, rs.Annotations[deployment.RevisionAnnotation]))
	}
	sort.Strings(out)
	return out
}

// TestRevisionHistoryLimit checks that old scaled-down ReplicaSets beyond
// the limit are deleted, oldest revision first.
func TestRevisionHistoryLimit(t *testing.T) {
	c := startCluster(t)
	ns := c.Namespace(t, "history")
	c.kubelet(t, ns, 10*time.Millisecond)
	d := deploymentObj(ns, "app", 2, "app:1")
	d.Spec.RevisionHistoryLimit = ptr.To(int32(2))
	ctx := context.Background()
	if _, err := c.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	c.waitComplete(t, ns, "app")
	for i := 2; i <= 5; i++ {
		c.updateDeployment(t, ns, "app", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("app:%d", i) })
		c.waitComplete(t, ns, "app")
	}
	var rss []appsv1.ReplicaSet
	controllertest.Eventually(t, "history trimmed to 2 old replica sets", func(ctx context.Context) (bool, error) {
		cur, err := c.admin.AppsV1().Deployments(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		rss = c.replicaSets(t, cur)
		return len(rss) == 3, nil
	})
	revs := map[string]string{}
	for _, rs := range rss {
		revs[rs.Annotations[deployment.RevisionAnnotation]] = rs.Spec.Template.Spec.Containers[0].Image
	}
	want := map[string]string{"3": "app:3", "4": "app:4", "5": "app:5"}
	for rev, img := range want {
		if revs[rev] != img {
			t.Errorf("revision %s = %q, want %q (have %v)", rev, revs[rev], img, rsNames(rss))
		}
	}
}

// TestProportionalScaling holds a rollout mid-way (new pods never become
// ready), scales the Deployment and checks upstream's proportional split,
// then checks that the rollout times out against its progress deadline.
func TestProportionalScaling(t *testing.T) {
	c := startCluster(t)
	ns := c.Namespace(t, "proportional")
	c.kubelet(t, ns, 10*time.Millisecond)
	d := deploymentObj(ns, "svc", 10, "svc:1")
	d.Spec.Strategy = rolling(intstr.FromInt32(3), intstr.FromInt32(2))
	d.Spec.ProgressDeadlineSeconds = ptr.To(int32(4))
	ctx := context.Background()
	if _, err := c.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create: %v", err)
	}
	c.waitComplete(t, ns, "svc")
	c.updateDeployment(t, ns, "svc", func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = neverReadyImage })

	// 10 replicas, surge 3, unavailable 2, new pods never ready: the
	// rollout settles at old=8, new=5.
	sizes := func(ctx context.Context) (old, cur int32, err error) {
		d, err := c.admin.AppsV1().Deployments(ns).Get(ctx, "svc", metav1.GetOptions{})
		if err != nil {
			return 0, 0, err
		}
		for _, rs := range c.replicaSets(t, d) {
			if rs.Spec.Template.Spec.Containers[0].Image == neverReadyImage {
				cur = *rs.Spec.Replicas
			} else {
				old = *rs.Spec.Replicas
			}
		}
		return old, cur, nil
	}
	controllertest.Eventually(t, "rollout stuck at old=8 new=5", func(ctx context.Context) (bool, error) {
		old, cur, err := sizes(ctx)
		return old == 8 && cur == 5, err
	})

	// Scale 10 -> 20: 10 more replicas (20+3-13), split by the max-replicas
	// annotation (13): old round(8*23/13)-8 = 6, new the remaining 4.
	c.updateDeployment(t, ns, "svc", func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To(int32(20)) })
	controllertest.Eventually(t, "proportional scale to old=14 new=9", func(ctx context.Context) (bool, error) {
		old, cur, err := sizes(ctx)
		return old == 14 && cur == 9, err
	})

	var p *appsv1.DeploymentCondition
	controllertest.Eventually(t, "ProgressDeadlineExceeded", func(ctx context.Context) (bool, error) {
		d, err := c.admin.AppsV1().Deployments(ns).Get(ctx, "svc", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p = condition(d, appsv1.DeploymentProgressing)
		return p != nil && p.Reason == "ProgressDeadlineExceeded", nil
	})
	if p.Status != corev1.ConditionFalse || !strings.HasSuffix(p.Message, "has timed out progressing.") || !strings.HasPrefix(p.Message, `ReplicaSet "svc-`) {
		t.Errorf("Progressing = %s %q", p.Status, p.Message)
	}
}

// TestAdoption checks that a Deployment adopts a matching orphaned
// ReplicaSet with its template (using it as the new ReplicaSet) and
// releases it once its labels stop matching.
func TestAdoption(t *testing.T) {
	c := startCluster(t)
	ns := c.Namespace(t, "adopt")
	c.kubelet(t, ns, 10*time.Millisecond)
	ctx := context.Background()
	d := deploymentObj(ns, "orphan", 2, "orphan:1")
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "orphan-manual", Labels: d.Spec.Template.Labels},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(2)), Selector: d.Spec.Selector.DeepCopy(),
			Template: *d.Spec.Template.DeepCopy()},
	}
	if _, err := c.admin.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create replica set: %v", err)
	}
	// Once the replicaset controller has counted its pods, the shared
	// informer (and so the deployment controller) has seen it too.
	controllertest.Eventually(t, "orphan replica set running", func(ctx context.Context) (bool, error) {
		cur, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "orphan-manual", metav1.GetOptions{})
		return err == nil && cur.Status.Replicas == 2, err
	})
	created, err := c.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	done := c.waitComplete(t, ns, "orphan")
	rss := c.replicaSets(t, done)
	if len(rss) != 1 || rss[0].Name != "orphan-manual" {
		t.Fatalf("controlled replica sets %v, want the adopted orphan-manual only", rsNames(rss))
	}
	if ref := metav1.GetControllerOf(&rss[0]); ref.UID != created.UID || ref.Kind != "Deployment" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("owner reference %+v", ref)
	}
	// Relabel it: the Deployment releases it and creates its own.
	controllertest.Eventually(t, "relabel", func(ctx context.Context) (bool, error) {
		cur, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "orphan-manual", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cur.Labels = map[string]string{"app": "elsewhere"}
		_, err = c.admin.AppsV1().ReplicaSets(ns).Update(ctx, cur, metav1.UpdateOptions{})
		return err == nil, nil
	})
	controllertest.Eventually(t, "release", func(ctx context.Context) (bool, error) {
		cur, err := c.admin.AppsV1().ReplicaSets(ns).Get(ctx, "orphan-manual", metav1.GetOptions{})
		return err == nil && metav1.GetControllerOf(cur) == nil, err
	})
}
