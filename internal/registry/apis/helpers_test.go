package apis

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// funcsFor returns the hooks registered for a kind, failing the test if
// there are none.
func funcsFor(t *testing.T, group, kind string) strategy.Funcs {
	t.Helper()
	f, ok := Strategies()[schema.GroupKind{Group: group, Kind: kind}]
	if !ok {
		t.Fatalf("no strategy for %s/%s", group, kind)
	}
	return f
}

// create runs the create pipeline the registry runs: Default, server
// metadata, PrepareForCreate, Validate.
func create(f strategy.Funcs, obj runtime.Object) field.ErrorList {
	if f.Default != nil {
		f.Default(obj)
	}
	if m, ok := obj.(metav1.Object); ok {
		if m.GetUID() == "" {
			m.SetUID("8d2f4b5e-0000-4000-8000-000000000001")
		}
		m.SetGeneration(1)
	}
	if f.PrepareForCreate != nil {
		f.PrepareForCreate(obj)
	}
	return f.Validate(obj)
}

// update runs Default, PrepareForUpdate and ValidateUpdate.
func update(f strategy.Funcs, obj, old runtime.Object) field.ErrorList {
	if f.Default != nil {
		f.Default(obj)
	}
	if f.PrepareForUpdate != nil {
		f.PrepareForUpdate(obj, old)
	}
	return f.ValidateUpdate(obj, old)
}

// checkErrs asserts that errs is empty when want is empty, and otherwise
// that every wanted message appears among the errors.
func checkErrs(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	if len(want) == 0 {
		if len(errs) != 0 {
			t.Fatalf("unexpected errors: %v", errs)
		}
		return
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if g == w {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("missing error %q; got:\n  %s", w, strings.Join(got, "\n  "))
		}
	}
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1"}
}

func clusterMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, ResourceVersion: "1"}
}

// podTemplate returns a minimal valid pod template with the given labels
// and restart policy (empty means default).
func podTemplate(labels map[string]string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy: restart,
			Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
}
