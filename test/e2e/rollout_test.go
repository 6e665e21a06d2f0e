package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// neverReadyImage is an image the fake kubelet never reports Ready, to
// make a rollout miss its progress deadline.
const neverReadyImage = "kplane.invalid/never-ready:1"

// TestRollout drives the deployment and replicaset controllers of
// `kplane up` with the real kubectl rollout subcommands and scale, while a
// fake kubelet marks new pods Running and Ready through the API.
func TestRollout(t *testing.T) {
	requireKubectl(t)
	s := startServer(t, t.TempDir())
	k := newKubectl(t, s)
	ns := k.namespace(t, "rollout")
	fakeKubelet(t, s.clientset(t), ns)
	k.run(t, "apply", "-n", ns, "-f", "testdata/rollout-deployment.yaml")

	status := func(t *testing.T, name string) {
		t.Helper()
		out := k.run(t, "-n", ns, "rollout", "status", "deployment/"+name, "--timeout=90s")
		mustContain(t, "rollout status", out, `deployment "`+name+`" successfully rolled out`)
	}
	image := func(t *testing.T) string {
		t.Helper()
		return k.jsonpath(t, "{.spec.template.spec.containers[0].image}", "-n", ns, "deployment/web")
	}
	revision := func(t *testing.T) string {
		t.Helper()
		return k.jsonpath(t, `{.metadata.annotations.deployment\.kubernetes\.io/revision}`, "-n", ns, "deployment/web")
	}
	status(t, "web")

	t.Run("status-and-history", func(t *testing.T) {
		// The change cause is copied to the current (new) ReplicaSet, so it
		// is recorded after the template change.
		k.run(t, "-n", ns, "set", "image", "deployment/web", "c=nginx:2.0")
		k.run(t, "-n", ns, "annotate", "deployment/web", "kubernetes.io/change-cause=image 2.0")
		status(t, "web")
		// maxSurge 1, maxUnavailable 0: one pod at a time. (Events are
		// checked early: the recorder's spam filter, as upstream's, drops
		// events of one object beyond a burst of 25.)
		scalingEvent(t, k, ns, "Scaled up replica set web-", " from 0 to 1")
		scalingEvent(t, k, ns, "Scaled down replica set web-", " from 3 to 2")
		out := k.run(t, "-n", ns, "rollout", "history", "deployment/web")
		mustContain(t, "rollout history", out, "deployment.apps/web", "REVISION  CHANGE-CAUSE")
		got := map[string]string{}
		for _, l := range lines(out)[2:] {
			rev, cause, _ := strings.Cut(l, " ")
			got[rev] = strings.TrimSpace(cause)
		}
		if got["1"] != "<none>" || got["2"] != "image 2.0" {
			t.Errorf("history = %v, want 1:<none> 2:image 2.0\n%s", got, out)
		}
		out = k.run(t, "-n", ns, "rollout", "history", "deployment/web", "--revision=2")
		mustContain(t, "history --revision=2", out, "revision #2", "nginx:2.0", "pod-template-hash=")
		if r := revision(t); r != "2" {
			t.Errorf("deployment revision %q, want 2", r)
		}
	})

	t.Run("undo", func(t *testing.T) {
		out := k.run(t, "-n", ns, "rollout", "undo", "deployment/web")
		mustContain(t, "rollout undo", out, "deployment.apps/web rolled back")
		status(t, "web")
		if img, r := image(t), revision(t); img != "nginx:1.0" || r != "3" {
			t.Errorf("after undo: image %s revision %s, want nginx:1.0 and 3", img, r)
		}
		// Revision 1's ReplicaSet became revision 3 and remembers it.
		hist := k.run(t, "-n", ns, "get", "rs", "-l", "app=web", "-o",
			`jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}={.metadata.annotations.deployment\.kubernetes\.io/revision-history}{"\n"}{end}`)
		mustContain(t, "revision-history", hist, "nginx:1.0=1")
		out = k.run(t, "-n", ns, "rollout", "undo", "deployment/web", "--to-revision=2")
		mustContain(t, "rollout undo --to-revision", out, "deployment.apps/web rolled back")
		status(t, "web")
		if img, r := image(t), revision(t); img != "nginx:2.0" || r != "4" {
			t.Errorf("after undo to 2: image %s revision %s, want nginx:2.0 and 4", img, r)
		}
	})

	t.Run("pause-resume", func(t *testing.T) {
		mustContain(t, "rollout pause", k.run(t, "-n", ns, "rollout", "pause", "deployment/web"), "deployment.apps/web paused")
		k.run(t, "-n", ns, "set", "image", "deployment/web", "c=nginx:3.0")
		waitFor(t, "paused deployment observed", func() bool {
			out := k.jsonpath(t, `{.metadata.generation}={.status.observedGeneration}={.status.conditions[?(@.type=="Progressing")].reason}`, "-n", ns, "deployment/web")
			parts := strings.Split(out, "=")
			return len(parts) == 3 && parts[0] == parts[1] && parts[2] == "DeploymentPaused"
		})
		if rs := k.run(t, "-n", ns, "get", "rs", "-l", "app=web", "-o", "jsonpath={.items[*].spec.template.spec.containers[0].image}"); strings.Contains(rs, "nginx:3.0") {
			t.Errorf("paused deployment rolled out: replica sets with images %s", rs)
		}
		stderr := k.fail(t, "-n", ns, "rollout", "undo", "deployment/web")
		mustContain(t, "undo while paused", stderr, "you cannot rollback a paused deployment; resume it first")
		mustContain(t, "rollout resume", k.run(t, "-n", ns, "rollout", "resume", "deployment/web"), "deployment.apps/web resumed")
		status(t, "web")
		if img, r := image(t), revision(t); img != "nginx:3.0" || r != "5" {
			t.Errorf("after resume: image %s revision %s, want nginx:3.0 and 5", img, r)
		}
	})

	t.Run("restart", func(t *testing.T) {
		mustContain(t, "rollout restart", k.run(t, "-n", ns, "rollout", "restart", "deployment/web"), "deployment.apps/web restarted")
		status(t, "web")
		if r := revision(t); r != "6" {
			t.Errorf("after restart: revision %s, want 6", r)
		}
		restarted := k.jsonpath(t, `{.items[*].metadata.annotations.deployment\.kubernetes\.io/revision}:{.items[*].spec.template.metadata.annotations.kubectl\.kubernetes\.io/restartedAt}`,
			"-n", ns, "rs", "-l", "app=web")
		if _, at, _ := strings.Cut(restarted, ":"); at == "" {
			t.Errorf("no ReplicaSet carries the restartedAt template annotation: %q", restarted)
		}
	})

	t.Run("scale", func(t *testing.T) {
		mustContain(t, "scale", k.run(t, "-n", ns, "scale", "deployment/web", "--replicas=5"), "deployment.apps/web scaled")
		status(t, "web")
		row := rows(k.run(t, "-n", ns, "get", "deployment", "web"), 0)["web"]
		if len(row) < 4 || row[1] != "5/5" || row[2] != "5" || row[3] != "5" {
			t.Errorf("get deployment row %v, want READY 5/5 UP-TO-DATE 5 AVAILABLE 5", row)
		}
		if r := revision(t); r != "6" {
			t.Errorf("scaling changed the revision to %s", r)
		}
		mustContain(t, "scale down", k.run(t, "-n", ns, "scale", "deployment/web", "--replicas=1"), "deployment.apps/web scaled")
		waitFor(t, "one pod left", func() bool {
			return k.jsonpath(t, "{.status.replicas}/{.status.availableReplicas}", "-n", ns, "deployment/web") == "1/1"
		})
	})

	t.Run("progress-deadline", func(t *testing.T) {
		_, stderr, err := k.exec(t, nil, "", "-n", ns, "rollout", "status", "deployment/stuck", "--timeout=90s")
		if err == nil {
			t.Fatal("rollout status of a stuck deployment succeeded")
		}
		mustContain(t, "rollout status stuck", stderr, `deployment "stuck" exceeded its progress deadline`)
	})
}

// scalingEvent waits for a ScalingReplicaSet event of the deployment
// controller whose message has prefix and suffix. The event recorder
// folds bursts of similar events into one "(combined from similar
// events): <latest message>" event, as upstream's does.
func scalingEvent(t *testing.T, k *kubectl, ns, prefix, suffix string) {
	t.Helper()
	var events string
	waitFor(t, "event "+prefix+"..."+suffix, func() bool {
		events = k.run(t, "-n", ns, "get", "events", "--field-selector", "reason=ScalingReplicaSet",
			"-o", `jsonpath={range .items[*]}{.message}{"\n"}{end}`)
		for _, l := range lines(events) {
			l = strings.TrimPrefix(l, "(combined from similar events): ")
			if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, suffix) {
				return true
			}
		}
		return false
	})
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// fakeKubelet marks every new pod of ns Running and Ready shortly after it
// appears (there is no kubelet yet), except pods of neverReadyImage.
func fakeKubelet(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		cancel()
		t.Fatalf("watch pods: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type != watch.Added || p.Spec.Containers[0].Image == neverReadyImage {
				continue
			}
			wg.Go(func() { markPodReady(ctx, cs, ns, p.Name) })
		}
	})
	t.Cleanup(func() {
		cancel()
		w.Stop()
		wg.Wait()
	})
}

func markPodReady(ctx context.Context, cs kubernetes.Interface, ns, name string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(50 * time.Millisecond):
	}
	for ctx.Err() == nil {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return
		}
		now := metav1.Now()
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		if _, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
			return
		}
	}
}
