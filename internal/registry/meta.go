package registry

import (
	"crypto/rand"
	"math/big"
	"reflect"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// generateSuffix returns upstream's 5-character random name suffix.
func generateSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			b[i] = alphabet[i]
			continue
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// structField returns the named top-level struct field of a typed object, or an
// invalid Value when it has none.
func structField(obj runtime.Object, name string) reflect.Value {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName(name)
}

// copyField sets dst.name = src.name (both of one type).
func copyField(dst, src runtime.Object, name string) {
	d, s := structField(dst, name), structField(src, name)
	if d.IsValid() && s.IsValid() && d.CanSet() {
		d.Set(s)
	}
}

// specChanged reports whether the Spec of two objects differs semantically.
func specChanged(a, b runtime.Object) bool {
	x, y := structField(a, "Spec"), structField(b, "Spec")
	if !x.IsValid() || !y.IsValid() {
		return false
	}
	return !apiequality.Semantic.DeepEqual(x.Interface(), y.Interface())
}

func reflectValueOf(v any) reflect.Value { return reflect.ValueOf(v) }
