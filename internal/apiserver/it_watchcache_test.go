package apiserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"kplane/internal/controlplane"
)

// TestWatchCacheNodeWatchers: node-filtered watches in JSON and protobuf
// are served by the watch cache (shared encodings) and each sees only its
// node's pods; the same holds with the cache disabled (every watch on
// etcd), the path --watch-cache=false keeps for comparisons.
func TestWatchCacheNodeWatchers(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		t.Run(map[bool]string{false: "cache", true: "etcd"}[disabled], func(t *testing.T) {
			testNodeWatchers(t, disabled)
		})
	}
}

func testNodeWatchers(t *testing.T, disableCache bool) {
	cp := startControlPlane(t, controlplane.Config{DisableWatchCache: disableCache})
	cs, cfg := adminClientset(t, cp)
	jcfg := *cfg
	jcfg.ContentType = "application/json"
	jcs, err := kubernetes.NewForConfig(&jcfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "wc"
	createNamespace(t, cs, ns)
	for _, n := range []struct{ pod, node string }{{"a", "n1"}, {"b", "n2"}} {
		p := testPod(n.pod)
		p.Spec.NodeName = n.node
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s: %v", n.pod, err)
		}
	}
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("consistent list after creates: %v items, %v", len(list.Items), err)
	}
	watchNode := func(c kubernetes.Interface, node string) watch.Interface {
		w, err := c.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String(), ResourceVersion: list.ResourceVersion,
		})
		if err != nil {
			t.Fatalf("watch %s: %v", node, err)
		}
		t.Cleanup(w.Stop)
		return w
	}
	n1proto, n1json, n2json := watchNode(cs, "n1"), watchNode(jcs, "n1"), watchNode(jcs, "n2")
	next := func(w watch.Interface, what string) (watch.EventType, *corev1.Pod) {
		t.Helper()
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("%s: watch closed", what)
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("%s: %s %T", what, ev.Type, ev.Object)
			}
			return ev.Type, p
		case <-ctx.Done():
			t.Fatalf("%s: no event", what)
		}
		return "", nil
	}
	labelPod(t, cs, ns, "a", "1")
	for _, w := range []struct {
		w    watch.Interface
		name string
	}{{n1proto, "n1 protobuf"}, {n1json, "n1 json"}} {
		typ, p := next(w.w, w.name)
		if typ != watch.Modified || p.Name != "a" || p.Labels["step"] != "1" {
			t.Fatalf("%s: %s %s labels %v", w.name, typ, p.Name, p.Labels)
		}
	}
	// The binding is the only way to move a pod; delete and recreate a on n2.
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "a", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatalf("delete a: %v", err)
	}
	if typ, p := next(n1json, "n1 json"); typ != watch.Deleted || p.Name != "a" {
		t.Fatalf("n1 after delete: %s %s", typ, p.Name)
	}
	// n2's watcher saw nothing of a: its first event is b's change.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "b", metav1.GetOptions{})
		if err != nil {
			return err
		}
		p.Labels = map[string]string{"test": "b"}
		_, err = cs.CoreV1().Pods(ns).Update(ctx, p, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatalf("update b: %v", err)
	}
	if typ, p := next(n2json, "n2 json"); typ != watch.Modified || p.Name != "b" {
		t.Fatalf("n2 first event: %s %s, want MODIFIED b", typ, p.Name)
	}

	if disableCache {
		return
	}
	// The cache's metrics are exported.
	resp := do(t, httpClient(cp, adminCert(t, cp)), "GET", cp.URL()+"/metrics", nil, nil)
	for _, want := range []string{
		`apiserver_watch_cache_watchers{resource="pods"} 3`,
		`apiserver_watch_cache_list_duration_seconds_count{resource="pods",source="cache"}`,
		`apiserver_watch_cache_events_dispatched_total{resource="pods"}`,
	} {
		if !strings.Contains(string(resp.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
