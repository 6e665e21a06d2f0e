package perftest_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"

	"kplane/internal/controllers/controllertest"
	"kplane/internal/controllers/manager"
	"kplane/internal/leaderelection"
	"kplane/internal/perftest"
	"kplane/internal/perftest/report"
	"kplane/internal/scheduler"
)

// cluster is a real in-process kplane: etcd, API server, controller
// manager and scheduler, with nodes made through the API and a stand-in
// kubelet that marks bound pods Running (hollow nodes are a separate
// component; the driver must not care who runs the pods).
func cluster(t *testing.T, nodes int) *controllertest.Env {
	t.Helper()
	env := controllertest.Start(t, manager.Config{})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rc, err := clientcmd.BuildConfigFromFlags("", env.CP.SchedulerKubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{RESTConfig: rc, Logger: quiet, LeaderElection: leaderelection.Options{Disable: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() {
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("scheduler: %v", err)
		}
	})
	for i := range nodes {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d", i)}}
		n, err := env.Admin.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cap := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("110")}
		n.Status = corev1.NodeStatus{Capacity: cap, Allocatable: cap, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now()}}}
		if _, err := env.Admin.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Go(func() { runKubelet(ctx, env.Admin) })
	return env
}

// runKubelet marks every bound, not yet Running pod Running and Ready,
// with a container start time, as a kubelet would.
func runKubelet(ctx context.Context, cs kubernetes.Interface) {
	f := informers.NewSharedInformerFactory(cs, 0)
	q := workqueue.NewTyped[string]()
	inf := f.Core().V1().Pods().Informer()
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" && p.Status.Phase != corev1.PodRunning && p.DeletionTimestamp == nil {
			q.Add(p.Namespace + "/" + p.Name)
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }})
	f.Start(ctx.Done())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				key, quit := q.Get()
				if quit {
					return
				}
				ns, name, _ := strings.Cut(key, "/")
				_ = controllertest.SetPodStatus(ctx, cs, ns, name, func(s *corev1.PodStatus) {
					now := metav1.Now()
					s.Phase = corev1.PodRunning
					s.Conditions = append(s.Conditions,
						corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
						corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now})
					s.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
				})
				q.Done(key)
			}
		})
	}
	<-ctx.Done()
	q.ShutDown()
	f.Shutdown()
	wg.Wait()
}

// TestDensityAndLoad runs both tests, small, against a real in-process
// cluster and checks what they wrote: a schema-valid result whose verdicts
// follow its numbers, server-side API latency from real /metrics histograms, one CSV
// row per pod, an HTML report with charts.
func TestDensityAndLoad(t *testing.T) {
	env := cluster(t, 3)
	admin, err := env.CP.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []string{perftest.Density, perftest.Load} {
		t.Run(test, func(t *testing.T) {
			spec, err := perftest.ParseSpec([]byte(`
podsPerNode: 4
density: {latencyPods: 4, latencyInterval: 50ms}
load:
  deployments: [{name: small, replicas: 2, share: 0.5}, {name: medium, replicas: 4, share: 0.5}]
`))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var out bytes.Buffer
			r, err := perftest.New(perftest.Config{Test: test, RESTConfig: admin, Spec: &spec, Nodes: 3, Seed: 7,
				Timeout: 5 * time.Minute, ReportDir: dir, Cleanup: true, SampleInterval: 500 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !res.Finished {
				t.Fatalf("run did not finish: %s\n%s", res.Error, out.String())
			}
			// The verdicts follow the numbers; whether the numbers pass is
			// up to the machine (the e2e test asks for a pass on a quiet
			// one), so this test checks the logic, not the speed.
			allPass := true
			for _, s := range res.SLOs {
				if want := s.Value <= s.Threshold; (s.Verdict == report.VerdictPass) != want || s.Partial {
					t.Errorf("SLO %+v: verdict does not follow value and threshold", s)
				}
				allPass = allPass && s.Verdict == report.VerdictPass
			}
			if (res.Verdict == report.VerdictPass) != allPass {
				t.Errorf("overall verdict %s with SLOs %+v", res.Verdict, res.SLOs)
			}
			validate(t, filepath.Join(dir, "result.json"))
			if !res.APILatency.ServerAvailable {
				t.Fatalf("server latency unavailable: %s", res.APILatency.ServerNote)
			}
			wantPods := 12
			if test == perftest.Density {
				wantPods += 4
				if res.WatchDelay == nil || res.WatchDelay.Count != 4 {
					t.Errorf("watch delay = %+v, want 4 pods", res.WatchDelay)
				}
				if g := res.Group("latency"); g == nil || g.Complete != 4 || g.Stages[report.StageEndToEnd].Count != 4 {
					t.Errorf("latency group = %+v", g)
				}
				// The driver created the latency pods: the server counted
				// at least those POSTs during the run.
				if n := count(res.APILatency.Server, "POST", "pods"); n < 4 {
					t.Errorf("server POST pods count = %d, want >= 4", n)
				}
			} else {
				if n := count(res.APILatency.Server, "PATCH", "deployments"); n < 2*4 { // scale + update of 4 deployments
					t.Errorf("server PATCH deployments = %d, want >= 8", n)
				}
				for _, ph := range []string{"create", "scale", "update", "delete"} {
					if !hasPhase(res, ph) {
						t.Errorf("phase %s missing: %+v", ph, res.Phases)
					}
				}
			}
			rows := readCSV(t, filepath.Join(dir, "pods.csv"))
			if test == perftest.Density && len(rows)-1 != wantPods {
				t.Errorf("pods.csv has %d pods, want %d", len(rows)-1, wantPods)
			}
			if test == perftest.Load && len(rows)-1 < wantPods {
				t.Errorf("pods.csv has %d pods, want >= %d", len(rows)-1, wantPods)
			}
			html, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(html), "<svg"); n < 5 || strings.Contains(string(html), "http://") && !strings.Contains(string(html), "http://www.w3.org/2000/svg") {
				t.Errorf("report.html has %d charts", n)
			}
			t.Log(out.String())
			if !strings.Contains(out.String(), "kplane test "+test+": "+strings.ToUpper(res.Verdict)+" (3 nodes") {
				t.Errorf("summary:\n%s", out.String())
			}
		})
	}
}

// TestIncompleteRun: a run that hits its timeout still writes a valid
// report, says it did not finish and marks its numbers partial, and a
// cluster without nodes is refused at once.
func TestIncompleteRun(t *testing.T) {
	env := cluster(t, 0)
	admin, err := env.CP.AdminConfig()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := perftest.New(perftest.Config{Test: perftest.Density, RESTConfig: admin, ReportDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Finished || !strings.Contains(res.Error, perftest.ErrNoNodes.Error()) {
		t.Errorf("finished=%v error=%q, want ErrNoNodes", res.Finished, res.Error)
	}

	// One node that never becomes Ready within the timeout.
	if _, err := env.Admin.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "not-ready"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r, err = perftest.New(perftest.Config{Test: perftest.Load, RESTConfig: admin, Nodes: 1, Timeout: 2 * time.Second, ReportDir: dir, Logger: quiet, Cleanup: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err = r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	validate(t, filepath.Join(dir, "result.json"))
	if res.Finished || res.Verdict == report.VerdictPass || len(res.Partial) == 0 || !strings.Contains(res.Error, "timed out") {
		t.Errorf("finished=%v verdict=%s partial=%v error=%q", res.Finished, res.Verdict, res.Partial, res.Error)
	}
	for _, s := range res.SLOs {
		if !s.Partial || s.Verdict == report.VerdictPass {
			t.Errorf("SLO %s on an unfinished run: %+v", s.Name, s)
		}
	}
}

func count(eps []report.APIEndpoint, verb, resource string) int64 {
	var n int64
	for _, e := range eps {
		if e.Verb == verb && e.Resource == resource && e.Subresource == "" {
			n += e.Count
		}
	}
	return n
}

func hasPhase(r *report.Result, name string) bool {
	for _, p := range r.Phases {
		if p.Name == name && p.Finished {
			return true
		}
	}
	return false
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(report.CSVHeader, ",") {
		t.Fatalf("pods.csv header = %v", rows)
	}
	return rows
}

// validate checks a result.json against the published JSON Schema.
func validate(t *testing.T, path string) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	var schema any
	if err := json.Unmarshal(report.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("result.schema.json", schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("%s does not match the schema: %v", path, err)
	}
}
