package hollownode

import (
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// offlineFleet is a Fleet that never runs: enough for the pure pieces.
func offlineFleet(t *testing.T, mutate func(*Config)) *Fleet {
	t.Helper()
	cfg := Config{RESTConfig: &rest.Config{Host: "https://127.0.0.1:1"}, Count: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(&cfg)
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f
}

func testPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "0123456789abcdef"},
		Spec:       corev1.PodSpec{NodeName: "hollow-node-0", Containers: []corev1.Container{{Name: "app", Image: "img"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func TestStartLatencyReproducible(t *testing.T) {
	f := offlineFleet(t, func(c *Config) { c.Pods.StartLatency = 200 * time.Millisecond })
	g := offlineFleet(t, func(c *Config) { c.Pods.StartLatency = 200 * time.Millisecond })
	other := offlineFleet(t, func(c *Config) { c.Pods.StartLatency, c.Seed = 200*time.Millisecond, 7 })
	var ds []time.Duration
	differ := 0
	for i := range 1001 {
		p := testPod("p" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		d := f.startLatency(p)
		if d2 := g.startLatency(p); d2 != d {
			t.Fatalf("same seed, same pod: %s then %s", d, d2)
		}
		if other.startLatency(p) != d {
			differ++
		}
		ds = append(ds, d)
	}
	if differ < 900 {
		t.Errorf("another seed changed only %d of 1001 latencies", differ)
	}
	slices.Sort(ds)
	if med := ds[500]; med < 150*time.Millisecond || med > 270*time.Millisecond {
		t.Errorf("median start latency %s, want about 200ms", med)
	}
	if ds[0] == ds[1000] {
		t.Error("start latencies are all equal; want a distribution")
	}
	annotated := testPod("fixed", func(p *corev1.Pod) { p.Annotations = map[string]string{AnnotationStartLatency: "3s"} })
	if d := f.startLatency(annotated); d != 3*time.Second {
		t.Errorf("annotated start latency = %s, want 3s", d)
	}
	now := offlineFleet(t, func(c *Config) { c.Pods.StartLatency = -1 })
	if d := now.startLatency(testPod("x")); d != 0 {
		t.Errorf("negative StartLatency: %s, want 0", d)
	}
}

func TestPodDurations(t *testing.T) {
	f := offlineFleet(t, func(c *Config) { c.Pods.JobRunDuration = 7 * time.Second; c.Pods.ReadinessDelay = 2 * time.Second })
	job := testPod("job", func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "j", UID: "u"}}
	})
	probe := func(delay int32) *corev1.Probe {
		return &corev1.Probe{InitialDelaySeconds: delay, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{}}}
	}
	for _, tc := range []struct {
		name       string
		pod        *corev1.Pod
		run, ready time.Duration
		stop       time.Duration
	}{
		{"plain", testPod("p"), 0, 0, DefaultStopDuration},
		{"job", job, 7 * time.Second, 0, DefaultStopDuration},
		{"annotated run", testPod("a", func(p *corev1.Pod) { p.Annotations = map[string]string{AnnotationRunDuration: "90s"} }), 90 * time.Second, 0, DefaultStopDuration},
		{"probe with delay", testPod("r", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = probe(5) }), 0, 5 * time.Second, DefaultStopDuration},
		{"probe without delay", testPod("r0", func(p *corev1.Pod) { p.Spec.Containers[0].ReadinessProbe = probe(0) }), 0, 2 * time.Second, DefaultStopDuration},
		{"preStop sleep", testPod("s", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 12}}}
		}), 0, 0, 12 * time.Second},
		{"preStop exec holds the grace period", testPod("e", func(p *corev1.Pod) {
			p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}
		}), 0, 0, time.Duration(1<<63 - 1)},
		{"annotated stop", testPod("st", func(p *corev1.Pod) { p.Annotations = map[string]string{AnnotationStopDuration: "4s"} }), 0, 0, 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.runDuration(tc.pod); got != tc.run {
				t.Errorf("runDuration = %s, want %s", got, tc.run)
			}
			if got := f.readinessDelay(tc.pod); got != tc.ready {
				t.Errorf("readinessDelay = %s, want %s", got, tc.ready)
			}
			if got := f.stopDuration(tc.pod); got != tc.stop {
				t.Errorf("stopDuration = %s, want %s", got, tc.stop)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	f := offlineFleet(t, func(c *Config) { c.Pods.FailureRate = 0.3 })
	st := &podState{}
	if c := f.exitCode(testPod("x", func(p *corev1.Pod) { p.Annotations = map[string]string{AnnotationExitCode: "42"} }), st); c != 42 {
		t.Errorf("annotated exit code = %d, want 42", c)
	}
	failed := 0
	for i := range 1000 {
		if f.exitCode(testPod("p"+string(rune(i))), st) != 0 {
			failed++
		}
	}
	if failed < 220 || failed > 380 {
		t.Errorf("%d of 1000 failed at rate 0.3", failed)
	}
	if c := offlineFleet(t, nil).exitCode(testPod("x"), st); c != 0 {
		t.Errorf("exit code without failure injection = %d", c)
	}
}

func TestPodStatus(t *testing.T) {
	f := offlineFleet(t, nil)
	n := f.nodes[0]
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pod := testPod("web", func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "i"}, {Name: "sidecar", Image: "s", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
		p.Status.QOSClass = corev1.PodQOSBestEffort
		p.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: "example.com/gate", Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse},
		}
	})
	st := &podState{node: n, stage: stageRunning, ip: netip.MustParseAddr("10.64.0.9"), seen: start.Add(-time.Second).UnixNano(), startAt: start.UnixNano(), readyAt: start.Add(time.Second).UnixNano()}

	s := f.podStatus(pod, st, start)
	if s.Phase != corev1.PodRunning || s.PodIP != "10.64.0.9" || s.HostIP != n.ip.String() || s.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status = phase %s ip %s host %s qos %s", s.Phase, s.PodIP, s.HostIP, s.QOSClass)
	}
	if s.StartTime == nil || !s.StartTime.Time.Equal(start.Add(-time.Second)) {
		t.Errorf("startTime = %v, want when the pod was seen", s.StartTime)
	}
	conds := map[corev1.PodConditionType]corev1.ConditionStatus{}
	for _, c := range s.Conditions {
		if _, dup := conds[c.Type]; dup {
			t.Errorf("condition %s twice", c.Type)
		}
		conds[c.Type] = c.Status
	}
	want := map[corev1.PodConditionType]corev1.ConditionStatus{
		corev1.PodScheduled: "True", "example.com/gate": "True", corev1.PodReadyToStartContainers: "True",
		corev1.PodInitialized: "True", corev1.ContainersReady: "False", corev1.PodReady: "False",
	}
	for k, v := range want {
		if conds[k] != v {
			t.Errorf("condition %s = %q, want %q", k, conds[k], v)
		}
	}
	if len(s.InitContainerStatuses) != 2 || s.InitContainerStatuses[0].State.Terminated == nil || s.InitContainerStatuses[1].State.Running == nil {
		t.Errorf("init container statuses = %+v", s.InitContainerStatuses)
	}
	if len(s.ContainerStatuses) != 1 || s.ContainerStatuses[0].State.Running == nil || s.ContainerStatuses[0].Ready {
		t.Errorf("container statuses = %+v", s.ContainerStatuses)
	}

	st.ready = true
	s = f.podStatus(pod, st, start.Add(2*time.Second))
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady && (c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(start.Add(time.Second))) {
			t.Errorf("Ready condition after the probe delay = %+v", c)
		}
	}

	st.stage, st.exitCode, st.restarts = stageDone, 2, 1
	s = f.podStatus(pod, st, start.Add(3*time.Second))
	if s.Phase != corev1.PodFailed || s.ContainerStatuses[0].State.Terminated == nil ||
		s.ContainerStatuses[0].State.Terminated.ExitCode != 2 || s.ContainerStatuses[0].RestartCount != 1 {
		t.Errorf("failed pod status = %+v", s)
	}
}

func TestFaults(t *testing.T) {
	for _, f := range []Fault{FaultNone, FaultStopHeartbeats, FaultNotReady, FaultFlap} {
		got, err := ParseFault(f.String())
		if err != nil || got != f {
			t.Errorf("ParseFault(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseFault("explode"); err == nil {
		t.Error("ParseFault(explode) = nil error")
	}

	fl := offlineFleet(t, func(c *Config) { c.Pods.FlapPeriod = 10 * time.Second })
	if err := fl.SetFault("nope", FaultNotReady); err == nil {
		t.Error("SetFault of an unknown node succeeded")
	}
	n := fl.nodes[1]
	if err := fl.SetFault(n.name, FaultFlap); err != nil {
		t.Fatal(err)
	}
	since := time.Unix(0, n.faultSince.Load())
	for _, tc := range []struct {
		at    time.Duration
		ready bool
		flip  time.Duration
	}{
		{0, false, 10 * time.Second},
		{4 * time.Second, false, 6 * time.Second},
		{10 * time.Second, true, 10 * time.Second},
		{25 * time.Second, false, 5 * time.Second},
	} {
		ready, flip := fl.wantReady(n, since.Add(tc.at))
		if ready != tc.ready || flip != tc.flip {
			t.Errorf("flapping at %s: ready %v flip in %s, want %v in %s", tc.at, ready, flip, tc.ready, tc.flip)
		}
	}
	if ready, _ := fl.wantReady(fl.nodes[0], since); !ready {
		t.Error("healthy node not ready")
	}
	if f, _ := fl.Fault(n.name); f != FaultFlap {
		t.Errorf("Fault = %s, want flap", f)
	}
}

func TestPendingStatus(t *testing.T) {
	f := offlineFleet(t, func(c *Config) { c.Pods.PendingStatus = true })
	seen := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &podState{node: f.nodes[0], stage: stageStarting, seen: seen.UnixNano(), startAt: seen.Add(time.Second).UnixNano()}
	s := f.podStatus(testPod("p"), st, seen)
	if s.Phase != corev1.PodPending || s.PodIP != "" || s.StartTime == nil || !s.StartTime.Time.Equal(seen) {
		t.Errorf("pending status = phase %s ip %q start %v", s.Phase, s.PodIP, s.StartTime)
	}
	if len(s.ContainerStatuses) != 1 || s.ContainerStatuses[0].State.Waiting == nil || s.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" {
		t.Errorf("pending container statuses = %+v", s.ContainerStatuses)
	}
}
