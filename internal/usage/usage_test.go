package usage

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// pod builds a Running pod on node-1 with one container per request pair
// ("cpu/memory", empty for none) and the given annotations.
func pod(uid string, ann map[string]string, requests ...[2]string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p-" + uid, UID: types.UID(uid), Annotations: ann},
		Spec:       corev1.PodSpec{NodeName: "node-1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for i, r := range requests {
		c := corev1.Container{Name: string(rune('a' + i))}
		c.Resources.Requests = corev1.ResourceList{}
		if r[0] != "" {
			c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(r[0])
		}
		if r[1] != "" {
			c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse(r[1])
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	return p
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestPodAnnotations(t *testing.T) {
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		wantCPU []int64 // millicores per container
		wantMem []int64 // bytes per container
		wantErr bool
	}{
		{name: "pod total on one container is exact",
			pod:     pod("1", map[string]string{AnnotationCPU: "250m", AnnotationMemory: "64Mi"}, [2]string{"100m", "32Mi"}),
			wantCPU: []int64{250}, wantMem: []int64{64 << 20}},
		{name: "pod total is split by requests",
			pod:     pod("2", map[string]string{AnnotationCPU: "400m", AnnotationMemory: "300Mi"}, [2]string{"300m", "100Mi"}, [2]string{"100m", "200Mi"}),
			wantCPU: []int64{300, 100}, wantMem: []int64{100 << 20, 200 << 20}},
		{name: "pod total is split evenly without requests, remainder to the last",
			pod:     pod("3", map[string]string{AnnotationCPU: "1", AnnotationMemory: "3"}, [2]string{}, [2]string{}, [2]string{}),
			wantCPU: []int64{333, 333, 334}, wantMem: []int64{1, 1, 1}},
		{name: "container annotation wins and is subtracted from the pod total",
			pod: pod("4", map[string]string{AnnotationCPU: "1", AnnotationCPU + ".a": "700m", AnnotationMemory: "1Gi", AnnotationMemory + ".b": "2Gi"},
				[2]string{"1", "1Gi"}, [2]string{"1", "1Gi"}),
			wantCPU: []int64{700, 300}, wantMem: []int64{0, 2 << 30}},
		{name: "container annotations alone leave the other containers to the model",
			pod: pod("5", map[string]string{AnnotationCPU + ".b": "2", AnnotationMemory + ".b": "1Mi"}, [2]string{}, [2]string{}),
			// Container a uses the 5m / 16Mi defaults ±10%.
			wantCPU: []int64{-1, 2000}, wantMem: []int64{-1, 1 << 20}},
		{name: "malformed annotation falls back to the model and reports",
			pod:     pod("6", map[string]string{AnnotationCPU: "lots", AnnotationMemory: "-1Mi"}, [2]string{"200m", "100Mi"}),
			wantCPU: []int64{-1}, wantMem: []int64{-1}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, ok, err := m.Pod(tc.pod, t0)
			if !ok {
				t.Fatal("running pod has no usage")
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			for i, c := range cs {
				if tc.wantCPU[i] >= 0 && c.CPUMilli != tc.wantCPU[i] {
					t.Errorf("container %s cpu = %dm, want %dm", c.Name, c.CPUMilli, tc.wantCPU[i])
				}
				if tc.wantMem[i] >= 0 && c.MemoryBytes != tc.wantMem[i] {
					t.Errorf("container %s memory = %d, want %d", c.Name, c.MemoryBytes, tc.wantMem[i])
				}
				if c.CPUMilli < 0 || c.MemoryBytes < 0 {
					t.Errorf("container %s has negative usage %+v", c.Name, c)
				}
			}
		})
	}
}

func TestDefaultModelIsAJitteredFractionOfRequests(t *testing.T) {
	m, err := New(Config{RequestFraction: 0.5, Jitter: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	changed := false
	for i := 0; i < 200; i++ {
		p := pod(string(rune('A'+i%26))+string(rune('a'+i/26)), nil, [2]string{"1", "1Gi"}, [2]string{"", ""})
		at := t0.Add(time.Duration(i) * 7 * time.Second)
		cs, ok, err := m.Pod(p, at)
		if !ok || err != nil {
			t.Fatalf("Pod = %v, %v", ok, err)
		}
		if c := cs[0]; c.CPUMilli < 450 || c.CPUMilli > 550 || c.MemoryBytes < (1<<30)*45/100 || c.MemoryBytes > (1<<30)*55/100 {
			t.Fatalf("requesting container %+v is not 50%% ±10%% of 1 CPU / 1Gi", c)
		}
		if c := cs[1]; c.CPUMilli < 4 || c.CPUMilli > 6 || c.MemoryBytes < (16<<20)*9/10 || c.MemoryBytes > (16<<20)*11/10 {
			t.Fatalf("container without requests %+v is not 5m / 16Mi ±10%%", c)
		}
		// Deterministic: the same pod in the same window gives the same
		// usage, later in that window too.
		again, _, _ := m.Pod(p, m.WindowStart(at).Add(m.Window()-time.Nanosecond))
		if again[0] != cs[0] || again[1] != cs[1] {
			t.Fatalf("usage changed within a window: %+v then %+v", cs, again)
		}
		next, _, _ := m.Pod(p, at.Add(m.Window()))
		if next[0] != cs[0] {
			changed = true
		}
	}
	if !changed {
		t.Error("usage never changes from one window to the next")
	}
}

func TestNoJitter(t *testing.T) {
	m, err := New(Config{NoJitter: true, RequestFraction: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	cs, _, _ := m.Pod(pod("x", nil, [2]string{"400m", "400Mi"}), t0)
	if cs[0].CPUMilli != 100 || cs[0].MemoryBytes != 100<<20 {
		t.Errorf("usage = %+v, want exactly a quarter of the requests", cs[0])
	}
}

func TestOnlyRunningPodsUseResources(t *testing.T) {
	m := Default()
	ann := map[string]string{AnnotationCPU: "100m", AnnotationMemory: "10Mi"}
	running := pod("r", ann, [2]string{})
	pending := pod("p", ann, [2]string{})
	pending.Status.Phase = corev1.PodPending
	succeeded := pod("s", ann, [2]string{})
	succeeded.Status.Phase = corev1.PodSucceeded
	deleting := pod("d", ann, [2]string{})
	deleting.DeletionTimestamp = &metav1.Time{Time: t0}
	unbound := pod("u", ann, [2]string{})
	unbound.Spec.NodeName = ""
	elsewhere := pod("e", ann, [2]string{})
	elsewhere.Spec.NodeName = "node-2"
	for _, p := range []*corev1.Pod{pending, succeeded, deleting, unbound} {
		if _, ok, _ := m.Pod(p, t0); ok {
			t.Errorf("pod %s (phase %s) has usage", p.Name, p.Status.Phase)
		}
	}
	got := m.Node("node-1", []*corev1.Pod{running, pending, succeeded, deleting, unbound, elsewhere, running}, t0)
	if got.CPUMilli != 100+2*100 || got.MemoryBytes != 512<<20+2*10<<20 {
		t.Errorf("node usage = %+v, want overhead 100m/512Mi plus two running pods of 100m/10Mi", got)
	}
	if empty := m.Node("node-9", nil, t0); empty.CPUMilli != 100 || empty.MemoryBytes != 512<<20 {
		t.Errorf("empty node usage = %+v, want the overhead", empty)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{Jitter: 1}, {RequestFraction: -1}, {Window: time.Millisecond}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", cfg)
		}
	}
}
