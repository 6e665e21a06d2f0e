package apis

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestStrategiesCoverKinds(t *testing.T) {
	s := Strategies()
	if len(s) != 20 {
		t.Errorf("got %d kinds, want 20", len(s))
	}
	for gk, f := range s {
		if f.Validate == nil || f.ValidateUpdate == nil {
			t.Errorf("%v lacks Validate/ValidateUpdate", gk)
		}
	}
	if _, ok := s[schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}]; ok {
		t.Error("events.k8s.io Event must be stored as core Event, not registered here")
	}
}

func TestStrategyWrongType(t *testing.T) {
	f := funcsFor(t, "apps", "Deployment")
	errs := f.Validate(&corev1.Pod{})
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Fatalf("errs = %v", errs)
	}
	errs = f.ValidateUpdate(&appsv1.Deployment{}, &corev1.Pod{})
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Fatalf("errs = %v", errs)
	}
	// Defaulting a foreign object is a no-op rather than a panic.
	p := &corev1.Pod{}
	f.Default(p)
	if p.Spec.RestartPolicy != "" {
		t.Fatalf("pod was defaulted: %+v", p.Spec)
	}
}
