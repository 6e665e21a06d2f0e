package core

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// hooks returns the registered strategy of kind so tests exercise the same
// wiring the registry uses.
func hooks(t *testing.T, kind string) strategy.Funcs {
	t.Helper()
	f, ok := Strategies()[schema.GroupKind{Kind: kind}]
	if !ok {
		t.Fatalf("no strategy for %s", kind)
	}
	return f
}

// errString renders errs the way the API server's 422 message embeds them;
// "" means valid.
func errString(errs field.ErrorList) string {
	if len(errs) == 0 {
		return ""
	}
	return errs.ToAggregate().Error()
}

// createErrors runs the create path (Default, PrepareForCreate, Validate).
func createErrors(t *testing.T, kind string, obj runtime.Object) string {
	t.Helper()
	f := hooks(t, kind)
	if f.Default != nil {
		f.Default(obj)
	}
	if f.PrepareForCreate != nil {
		f.PrepareForCreate(obj)
	}
	return errString(f.Validate(obj))
}

// updateErrors runs the update path (Default, PrepareForUpdate,
// ValidateUpdate) of obj over old.
func updateErrors(t *testing.T, kind string, obj, old runtime.Object) string {
	t.Helper()
	f := hooks(t, kind)
	if f.Default != nil {
		f.Default(obj)
	}
	if f.PrepareForUpdate != nil {
		f.PrepareForUpdate(obj, old)
	}
	return errString(f.ValidateUpdate(obj, old))
}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1"}
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

// testPod is a minimal valid pod as a client would send it.
func testPod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: meta("web"),
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// createdPod is testPod after the create path, as it would be stored.
func createdPod(t *testing.T, mutate ...func(*corev1.Pod)) *corev1.Pod {
	t.Helper()
	p := testPod(mutate...)
	if got := createErrors(t, "Pod", p); got != "" {
		t.Fatalf("fixture pod invalid: %s", got)
	}
	return p
}
