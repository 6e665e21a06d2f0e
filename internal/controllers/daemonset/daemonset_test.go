package daemonset_test

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
)

const timeout = 60 * time.Second

func newDaemonSet(name string, tols ...corev1.Toleration) *appsv1.DaemonSet {
	lbls := map[string]string{"app": name}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: lbls},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbls},
				Spec: corev1.PodSpec{
					Containers:  []corev1.Container{{Name: "c", Image: "busybox"}},
					Tolerations: tols,
				},
			},
		},
	}
}

// pinned maps node name → pods pinned there by required node affinity.
func pinned(ctx context.Context, t *testing.T, c kubernetes.Interface, app string) map[string][]corev1.Pod {
	t.Helper()
	list, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]corev1.Pod{}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		a := p.Spec.Affinity
		if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			t.Fatalf("pod %s has no required node affinity", p.Name)
		}
		terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" ||
			terms[0].MatchFields[0].Operator != corev1.NodeSelectorOpIn || len(terms[0].MatchFields[0].Values) != 1 {
			t.Fatalf("pod %s node affinity %+v, want one matchFields metadata.name In [node]", p.Name, terms)
		}
		node := terms[0].MatchFields[0].Values[0]
		out[node] = append(out[node], p)
	}
	return out
}

func waitNodes(ctx context.Context, t *testing.T, c kubernetes.Interface, app string, want ...string) map[string][]corev1.Pod {
	t.Helper()
	var got map[string][]corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		got = pinned(ctx, t, c, app)
		var nodes []string
		for n, pods := range got {
			if len(pods) != 1 {
				return false, nil
			}
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		return slices.Equal(nodes, want), nil
	})
	if err != nil {
		t.Fatalf("daemon pods of %s on %v, want one on each of %v: %v", app, keys(got), want, err)
	}
	return got
}

func keys(m map[string][]corev1.Pod) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestDaemonSetController(t *testing.T) {
	c := controllertest.Start(t, manager.Config{Controllers: []string{"daemonset"}}).Admin
	ctx := context.Background()
	for _, n := range []*corev1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "node-c"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}}},
	} {
		if _, err := c.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("tainted node gets no pod", func(t *testing.T) {
		if _, err := c.AppsV1().DaemonSets("default").Create(ctx, newDaemonSet("agent"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pods := waitNodes(ctx, t, c, "agent", "node-a", "node-b")
		p := pods["node-a"][0]
		for _, want := range []corev1.Toleration{
			{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
			{Key: corev1.TaintNodeUnschedulable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		} {
			if !slices.ContainsFunc(p.Spec.Tolerations, func(t corev1.Toleration) bool {
				return t.Key == want.Key && t.Effect == want.Effect && t.Operator == want.Operator
			}) {
				t.Errorf("pod tolerations %+v lack %+v", p.Spec.Tolerations, want)
			}
		}
		if p.Spec.NodeName != "" {
			t.Errorf("pod nodeName %q, want unset (the scheduler binds)", p.Spec.NodeName)
		}
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == "" {
			t.Errorf("pod labels %v lack controller-revision-hash", p.Labels)
		}
		// The kubelet's part: one pod becomes ready.
		markReady(ctx, t, c, p)
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			ds, err := c.AppsV1().DaemonSets("default").Get(ctx, "agent", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			s := ds.Status
			return s.DesiredNumberScheduled == 2 && s.CurrentNumberScheduled == 2 && s.NumberReady == 1 &&
				s.NumberAvailable == 1 && s.UpdatedNumberScheduled == 2 && s.NumberUnavailable == 1 &&
				s.NumberMisscheduled == 0 && s.ObservedGeneration == ds.Generation, nil
		})
		if err != nil {
			t.Fatalf("daemonset status: %v", err)
		}
		revs, err := c.AppsV1().ControllerRevisions("default").List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(revs.Items) != 1 || revs.Items[0].Revision != 1 {
			t.Errorf("%d controller revisions, want 1 with revision 1", len(revs.Items))
		}
	})

	t.Run("tolerating daemonset runs everywhere and leaves a node that gains a NoExecute taint", func(t *testing.T) {
		ds := newDaemonSet("everywhere", corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "db", Effect: corev1.TaintEffectNoSchedule})
		if _, err := c.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNodes(ctx, t, c, "everywhere", "node-a", "node-b", "node-c")
		n, err := c.CoreV1().Nodes().Get(ctx, "node-b", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "evict", Effect: corev1.TaintEffectNoExecute})
		if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNodes(ctx, t, c, "everywhere", "node-a", "node-c")
		if n, err = c.CoreV1().Nodes().Get(ctx, "node-b", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		n.Spec.Taints = nil
		if _, err := c.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNodes(ctx, t, c, "everywhere", "node-a", "node-b", "node-c")
	})

	t.Run("template change replaces pods with a new revision", func(t *testing.T) {
		// The controller writes status concurrently: retry stale updates.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			ds, err := c.AppsV1().DaemonSets("default").Get(ctx, "agent", metav1.GetOptions{})
			if err != nil {
				return err
			}
			ds.Spec.Template.Spec.Containers[0].Image = "busybox:2"
			_, err = c.AppsV1().DaemonSets("default").Update(ctx, ds, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
			pods := pinned(ctx, t, c, "agent")
			done := len(pods) == 2
			for _, ps := range pods {
				for _, p := range ps {
					// Play kubelet: new pods become ready, or the
					// update (maxUnavailable 1) cannot go on.
					if p.Status.Phase != corev1.PodRunning {
						markReady(ctx, t, c, p)
					}
				}
				if len(ps) != 1 || ps[0].Spec.Containers[0].Image != "busybox:2" {
					done = false
				}
			}
			return done, nil
		})
		if err != nil {
			for n, ps := range pinned(ctx, t, c, "agent") {
				for _, p := range ps {
					t.Logf("node %s pod %s image %s phase %s hash %s", n, p.Name, p.Spec.Containers[0].Image, p.Status.Phase, p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey])
				}
			}
			ds, _ := c.AppsV1().DaemonSets("default").Get(ctx, "agent", metav1.GetOptions{})
			t.Logf("status %+v", ds.Status)
			t.Fatalf("pods not replaced with the new template: %v", err)
		}
		revs, err := c.AppsV1().ControllerRevisions("default").List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
		if err != nil {
			t.Fatal(err)
		}
		if len(revs.Items) != 2 {
			t.Errorf("%d controller revisions, want 2", len(revs.Items))
		}
	})
}

func markReady(ctx context.Context, t *testing.T, c kubernetes.Interface, p corev1.Pod) {
	t.Helper()
	if err := controllertest.SetPodReady(ctx, c, p.Namespace, p.Name); err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("mark pod %s ready: %v", p.Name, err)
	}
}
