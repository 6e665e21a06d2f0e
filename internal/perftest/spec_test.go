package perftest

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

func dur(d time.Duration) metav1.Duration { return metav1.Duration{Duration: d} }

func TestBuiltinSpec(t *testing.T) {
	s, err := ParseSpec(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.PodsPerNode != 30 || s.Density.LatencyInterval.Duration != 200*time.Millisecond || len(s.Load.Deployments) != 3 {
		t.Errorf("built-in spec = %+v", s)
	}
}

func TestSpecOverridesAndErrors(t *testing.T) {
	s, err := ParseSpec([]byte("podsPerNode: 7\nload: {create: {type: steps, steps: [{qps: 3, duration: 1m}]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.PodsPerNode != 7 || s.Load.Create.Type != "steps" || s.Load.Update.QPS != 20 {
		t.Errorf("merged spec = %+v", s)
	}
	if _, err := ParseSpec([]byte("podsPerNod: 7\n")); err == nil {
		t.Error("a misspelt field was accepted")
	}
	bad, err := ParseSpec([]byte("podsPerNode: 0\ndensity: {kind: Pod}\npod: {cpu: lots}\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Validate()
	if !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("Validate = %v", err)
	}
	for _, want := range []string{"podsPerNode", "density.kind", "pod.cpu"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func contains(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || len(sub) == 0 || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestPlanLoad: the Deployments of the load test use exactly the pod
// budget, with each class's share in Deployments of its size.
func TestPlanLoad(t *testing.T) {
	for _, nodes := range []int{1, 3, 20, 100, 250} {
		s, _ := ParseSpec(nil)
		r, err := New(Config{Test: Load, RESTConfig: &rest.Config{Host: "https://127.0.0.1:1"}, Spec: &s, ReportDir: t.TempDir(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		plan := r.planLoad(nodes)
		total, big := 0, 0
		for _, d := range plan {
			total += int(d.replicas)
			if d.class == "big" {
				big++
			}
			if len(d.services) != 1 || d.configMap == "" || d.secret == "" {
				t.Fatalf("deployment %+v lacks companions", d)
			}
		}
		if total != nodes*30 {
			t.Errorf("%d nodes: %d pods planned, want %d", nodes, total, nodes*30)
		}
		if nodes == 100 && big != 3 {
			t.Errorf("100 nodes: %d big deployments, want 3 (a quarter of 3000 pods in 250s)", big)
		}
	}
}
