package storage

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
)

// protoMagic starts every value upstream kube-apiserver writes in protobuf.
var protoMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// Codec encodes objects for etcd in the protobuf envelope and decodes both
// protobuf and JSON values (JSON is what some tools and CRDs write).
type Codec struct {
	scheme *runtime.Scheme
	proto  *protobuf.Serializer
	json   *json.Serializer
}

// NewCodec returns a codec for the types registered in scheme.
func NewCodec(scheme *runtime.Scheme) *Codec {
	return &Codec{
		scheme: scheme,
		proto:  protobuf.NewSerializer(scheme, scheme),
		json:   json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{}),
	}
}

// Encode writes obj in its registered group/version without resourceVersion
// or selfLink, which upstream never stores.
func (c *Codec) Encode(obj runtime.Object) ([]byte, error) {
	gvks, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", obj, err)
	}
	rv := acc.GetResourceVersion()
	acc.SetResourceVersion("")
	acc.SetSelfLink("")
	var out keepWriter
	err = c.proto.Encode(obj, &out)
	acc.SetResourceVersion(rv)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", gvks[0].Kind, err)
	}
	return out.b, nil
}

// keepWriter keeps the first slice written to it rather than copying it:
// the protobuf serializer writes an object as one buffer it has just
// allocated for that object, so the bytes are the caller's without a
// second allocation and copy. Later writes (other encoders) append to a
// copy, never into a written slice's spare capacity.
type keepWriter struct{ b []byte }

func (w *keepWriter) Write(p []byte) (int, error) {
	if w.b == nil {
		w.b = p
	} else {
		w.b = append(w.b[:len(w.b):len(w.b)], p...)
	}
	return len(p), nil
}

// Decode reads a stored value into a new typed object.
func (c *Codec) Decode(data []byte) (runtime.Object, error) {
	var (
		obj runtime.Object
		err error
	)
	if bytes.HasPrefix(data, protoMagic) {
		obj, _, err = c.proto.Decode(data, nil, nil)
	} else {
		obj, _, err = c.json.Decode(data, nil, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("decode stored object: %w", err)
	}
	return obj, nil
}
