package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// durabilityObjects is how many ConfigMaps are written before the crash.
	durabilityObjects = 2000
	// durabilityWriters is how many creates are in flight at once.
	durabilityWriters = 16
	durabilityNS      = "e2e-durability"
)

// stackVersions prints kind/name=resourceVersion for every object of the
// stack manifest, one per line, in file order.
const stackVersions = `{range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`

// stableVersions returns `kubectl get -f stack` resourceVersions for the
// kinds no controller writes to. Deployment and HPA status belong to
// controllers kplane will run later, so their versions may legitimately move
// while the server is up; they are checked by spec instead.
func stableVersions(t *testing.T, k *kubectl) string {
	t.Helper()
	var keep []string
	for _, l := range lines(k.jsonpath(t, stackVersions, "-f", stackFile)) {
		if !strings.HasPrefix(l, "Deployment/") && !strings.HasPrefix(l, "HorizontalPodAutoscaler/") {
			keep = append(keep, l)
		}
	}
	if len(keep) != len(stackObjects)-2 {
		t.Fatalf("stack versions: got %q, want %d objects", keep, len(stackObjects)-2)
	}
	return strings.Join(keep, "\n")
}

// TestRestart checks that state survives a clean shutdown (SIGTERM, exit code
// 0) and a crash (SIGKILL) of the whole process: every object comes back
// with the resourceVersion its write returned, on the same data directory.
func TestRestart(t *testing.T) {
	k0 := requireKubectl(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	s := startServer(t, dir)
	k := &kubectl{bin: k0, kubeconfig: s.kubeconfig, home: t.TempDir()}
	k.run(t, "apply", "-f", stackFile)
	k.run(t, "-n", stackNamespace, "scale", "deployment", "web", "--replicas=3")
	stack := stableVersions(t, k)

	// Clean shutdown: SIGTERM must exit 0 and lose nothing. The phases are
	// sequential steps of one test, not subtests, because each restarted
	// server must outlive the phase that starts it.
	if code := s.stop(t); code != 0 {
		t.Fatalf("kplane exit code after SIGTERM = %d, want 0:\n%s", code, s.logs())
	}
	s = startServer(t, dir)
	k.kubeconfig = s.kubeconfig
	if got := stableVersions(t, k); got != stack {
		t.Fatalf("after SIGTERM and restart:\n%s\nwant:\n%s", got, stack)
	}
	if got := k.jsonpath(t, "{.spec.replicas}", "-n", stackNamespace, "deployment", "web"); got != "3" {
		t.Errorf("deployment replicas after restart = %s, want 3", got)
	}
	// The restarted server accepts writes.
	out := k.run(t, "apply", "-f", stackFile)
	mustContain(t, "re-apply after restart", out, "deployment.apps/web configured", "namespace/e2e-stack unchanged")
	stack = stableVersions(t, k)

	// Crash: SIGKILL right after many acknowledged writes must lose none.
	cs := s.clientset(t)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: durabilityNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	want := createConfigMaps(ctx, t, cs)

	s.kill(t)
	s = startServer(t, dir)
	k.kubeconfig = s.kubeconfig

	got := listConfigMaps(ctx, t, s.clientset(t))
	if len(got) != len(want) {
		t.Errorf("after crash: %d ConfigMaps, want %d", len(got), len(want))
	}
	var mismatched []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got[name] != want[name] {
			mismatched = append(mismatched, fmt.Sprintf("%s: rv %q, want %q", name, got[name], want[name]))
		}
	}
	if len(mismatched) > 0 {
		t.Errorf("%d ConfigMaps lost or changed by the crash, first: %v", len(mismatched), mismatched[:min(5, len(mismatched))])
	}
	if got := k.jsonpath(t, "{.spec.replicas}", "-n", stackNamespace, "deployment", "web"); got != "2" {
		t.Errorf("deployment replicas after crash = %s, want 2 (re-applied before the crash)", got)
	}
	if got := stableVersions(t, k); got != stack {
		t.Errorf("stack after crash:\n%s\nwant:\n%s", got, stack)
	}

	// New writes get resourceVersions above everything recovered.
	k.run(t, "-n", durabilityNS, "create", "configmap", "after-crash")
	rv, err := strconv.ParseInt(k.jsonpath(t, "{.metadata.resourceVersion}", "-n", durabilityNS, "configmap", "after-crash"), 10, 64)
	if err != nil {
		t.Fatalf("parse resourceVersion: %v", err)
	}
	for name, v := range want {
		if old, _ := strconv.ParseInt(v, 10, 64); old >= rv {
			t.Fatalf("new write rv %d is not above recovered %s rv %d", rv, name, old)
		}
	}

	if code := s.stop(t); code != 0 {
		t.Errorf("kplane exit code after SIGTERM = %d, want 0", code)
	}
}

// createConfigMaps writes durabilityObjects ConfigMaps with
// durabilityWriters concurrent creates and returns name -> resourceVersion as
// returned by each create.
func createConfigMaps(ctx context.Context, t *testing.T, cs kubernetes.Interface) map[string]string {
	t.Helper()
	var mu sync.Mutex // guards rvs
	rvs := make(map[string]string, durabilityObjects)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(durabilityWriters)
	for i := range durabilityObjects {
		g.Go(func() error {
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i), Namespace: durabilityNS, Labels: map[string]string{"e2e": "durability"}},
				Data:       map[string]string{"index": strconv.Itoa(i)},
			}
			got, err := cs.CoreV1().ConfigMaps(durabilityNS).Create(gctx, cm, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create %s: %w", cm.Name, err)
			}
			mu.Lock()
			rvs[got.Name] = got.ResourceVersion
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("create ConfigMaps: %v", err)
	}
	return rvs
}

// listConfigMaps lists the ConfigMaps createConfigMaps wrote (by label, so
// objects other components add to the namespace do not count), in pages, and
// returns name -> resourceVersion.
func listConfigMaps(ctx context.Context, t *testing.T, cs kubernetes.Interface) map[string]string {
	t.Helper()
	got := map[string]string{}
	opts := metav1.ListOptions{Limit: 500, LabelSelector: "e2e=durability"}
	for {
		list, err := cs.CoreV1().ConfigMaps(durabilityNS).List(ctx, opts)
		if err != nil {
			t.Fatalf("list ConfigMaps: %v", err)
		}
		for _, cm := range list.Items {
			got[cm.Name] = cm.ResourceVersion
		}
		if list.Continue == "" {
			return got
		}
		opts.Continue = list.Continue
	}
}
