package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// The documents are assembled from pre-encoded pieces rather than marshalled
// whole: a schema such as PodSpec appears in the core, apps and batch
// documents, and encoding each definition once keeps Build cheap at start-up.
// Object keys are written in sorted order, as encoding/json would.

// encodeDefs encodes every definition once.
func encodeDefs(defs map[string]*spec.Schema) (map[string][]byte, error) {
	out := make(map[string][]byte, len(defs))
	for name, s := range defs {
		b, err := s.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("definition %s: %w", name, err)
		}
		out[name] = b
	}
	return out, nil
}

// writeRawObject writes {"name":<raw>,...} for the given names in sorted order.
func writeRawObject(buf *bytes.Buffer, names []string, raw map[string][]byte) error {
	sort.Strings(names)
	buf.WriteByte('{')
	for i, n := range names {
		b, ok := raw[n]
		if !ok {
			return fmt.Errorf("definition %s is referenced but not defined", n)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		key, err := json.Marshal(n)
		if err != nil {
			return err
		}
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(b)
	}
	buf.WriteByte('}')
	return nil
}

// assembleV2 writes the swagger 2.0 document with every definition.
func assembleV2(paths *spec.Paths, params map[string]spec.Parameter, defs map[string][]byte, info []byte) ([]byte, error) {
	pathsJSON, err := paths.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	paramsJSON, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	var buf bytes.Buffer
	buf.Grow(len(pathsJSON) + len(paramsJSON) + 2<<20)
	buf.WriteString(`{"definitions":`)
	if err := writeRawObject(&buf, names, defs); err != nil {
		return nil, err
	}
	buf.WriteString(`,"info":`)
	buf.Write(info)
	buf.WriteString(`,"parameters":`)
	buf.Write(paramsJSON)
	buf.WriteString(`,"paths":`)
	buf.Write(pathsJSON)
	buf.WriteString(`,"swagger":"2.0"}`)
	return buf.Bytes(), nil
}

// assembleV3 writes one group-version's OpenAPI 3.0 document with the given
// set of schemas.
func assembleV3(paths *spec3.Paths, schemas map[string]struct{}, defs map[string][]byte, info []byte) ([]byte, error) {
	pathsJSON, err := paths.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	names := make([]string, 0, len(schemas))
	size := len(pathsJSON) + 1024
	for n := range schemas {
		names = append(names, n)
		size += len(defs[n]) + len(n) + 4
	}
	var buf bytes.Buffer
	buf.Grow(size)
	buf.WriteString(`{"components":{"schemas":`)
	if err := writeRawObject(&buf, names, defs); err != nil {
		return nil, err
	}
	buf.WriteString(`},"info":`)
	buf.Write(info)
	buf.WriteString(`,"openapi":"3.0.0","paths":`)
	buf.Write(pathsJSON)
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
