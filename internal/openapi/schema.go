package openapi

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Extension names kubectl and other clients read from the schemas.
const (
	extGVK           = "x-kubernetes-group-version-kind"
	extPatchStrategy = "x-kubernetes-patch-strategy"
	extPatchMergeKey = "x-kubernetes-patch-merge-key"
	extListType      = "x-kubernetes-list-type"
	extListMapKeys   = "x-kubernetes-list-map-keys"
	extAction        = "x-kubernetes-action"
)

// flavor selects the OpenAPI dialect a generator emits: the reference prefix
// and the shape of the few types whose schema differs between v2 and v3.
type flavor int

const (
	flavorV2 flavor = iota
	flavorV3
)

func (f flavor) refPrefix() string {
	if f == flavorV3 {
		return "#/components/schemas/"
	}
	return "#/definitions/"
}

// swaggerDocer is implemented by every k8s.io/api and metav1 struct; the map
// holds the type description under "" and field descriptions by JSON name.
type swaggerDocer interface {
	SwaggerDoc() map[string]string
}

var (
	typeTime        = reflect.TypeFor[metav1.Time]()
	typeMicroTime   = reflect.TypeFor[metav1.MicroTime]()
	typeDuration    = reflect.TypeFor[metav1.Duration]()
	typeQuantity    = reflect.TypeFor[resource.Quantity]()
	typeIntOrString = reflect.TypeFor[intstr.IntOrString]()
	typeRawExt      = reflect.TypeFor[runtime.RawExtension]()
	typeFieldsV1    = reflect.TypeFor[metav1.FieldsV1]()
	typeSwaggerDoc  = reflect.TypeFor[swaggerDocer]()
)

// Descriptions for the apimachinery types that carry no SwaggerDoc method.
const (
	descQuantity    = "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors. The serialization format is a signed number followed by an optional suffix: a binary SI suffix (Ki, Mi, Gi, Ti, Pi, Ei), a decimal SI suffix (m, \"\", k, M, G, T, P, E) or a decimal exponent (e or E followed by a signed number)."
	descIntOrString = "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number."
	descRawExt      = "RawExtension is used to hold extensions in external versions.\n\nTo use this, make a field which has RawExtension as its type in your external, versioned struct, and Object in your internal struct. You also need to register your various plugin types."
	descTime        = "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers."
	descMicroTime   = "MicroTime is version of Time with microsecond level precision."
	descDuration    = "Duration is a wrapper around time.Duration which supports correct marshaling to YAML and JSON. In particular, it marshals into strings, which can be used as map keys in json."
)

// listMapKeyOverrides records the lists whose upstream list-map-keys are wider
// than their patch merge key (ports are unique by number and protocol).
var listMapKeyOverrides = map[string][]string{
	"io.k8s.api.core.v1.Container.ports":          {"containerPort", "protocol"},
	"io.k8s.api.core.v1.EphemeralContainer.ports": {"containerPort", "protocol"},
	"io.k8s.api.core.v1.ServiceSpec.ports":        {"port", "protocol"},
}

// A field is required when its JSON tag lacks omitempty, as upstream's
// generator decides from the same tags plus +optional comments, which
// reflection cannot see. Pointers without omitempty are almost always
// +optional (null is meaningful), and the fields below are +optional
// without omitempty; marking them required would make kubectl's client-side
// validation reject valid manifests, such as aggregated ClusterRoles.
var (
	requiredPointers = map[string]bool{
		"io.k8s.api.networking.v1.HTTPIngressPath.pathType": true,
	}
	optionalFields = map[string]bool{
		"io.k8s.api.rbac.v1.ClusterRole.rules":                                   true,
		"io.k8s.api.rbac.v1.Role.rules":                                          true,
		"io.k8s.api.core.v1.Event.reportingComponent":                            true,
		"io.k8s.api.core.v1.Event.reportingInstance":                             true,
		"io.k8s.api.discovery.v1.EndpointSlice.ports":                            true,
		"io.k8s.api.apps.v1.ControllerRevision.data":                             true,
		"io.k8s.api.apps.v1.StatefulSetStatus.availableReplicas":                 true,
		"io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus.currentMetrics": true,
	}
)

func isRequired(field string, t reflect.Type, jsonOpts string) bool {
	if strings.Contains(jsonOpts, "omitempty") || strings.Contains(jsonOpts, "omitzero") || optionalFields[field] {
		return false
	}
	return t.Kind() != reflect.Pointer || requiredPointers[field]
}

// generator turns Go types into named schema definitions by reflection. One
// generator emits one flavor; it is not safe for concurrent use.
type generator struct {
	flavor flavor
	defs   map[string]*spec.Schema
	// deps lists, per definition, the definitions it references directly, so
	// a v3 document can carry just the closure of what its paths use.
	deps   map[string]map[string]struct{}
	byType map[reflect.Type]string
	// current is the definition being filled in, the owner of new references.
	current string
}

func newGenerator(f flavor) *generator {
	return &generator{
		flavor: f,
		defs:   make(map[string]*spec.Schema, 1024),
		deps:   make(map[string]map[string]struct{}, 1024),
		byType: make(map[reflect.Type]string, 1024),
	}
}

// DefinitionName returns the upstream OpenAPI definition name of a Go type:
// the package path with its domain reversed, then the type name, e.g.
// k8s.io/api/core/v1.Pod → io.k8s.api.core.v1.Pod.
func DefinitionName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	domain, rest, _ := strings.Cut(pkg, "/")
	parts := strings.Split(domain, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

// ref returns a fresh schema referencing the named definition and records the
// dependency of the definition under construction on it.
func (g *generator) ref(name string) *spec.Schema {
	if g.current != "" {
		d := g.deps[g.current]
		if d == nil {
			d = make(map[string]struct{}, 8)
			g.deps[g.current] = d
		}
		d[name] = struct{}{}
	}
	return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(g.flavor.refPrefix() + name)}}
}

// define makes sure t (a named struct or special type) has a definition and
// returns its name.
func (g *generator) define(t reflect.Type) (string, error) {
	if name, ok := g.byType[t]; ok {
		return name, nil
	}
	name := DefinitionName(t)
	g.byType[t] = name
	if _, ok := g.defs[name]; ok {
		return "", fmt.Errorf("definition %s: two Go types map to the same name", name)
	}
	if s := g.specialDefinition(t); s != nil {
		g.defs[name] = s
		return name, nil
	}
	if t.Kind() != reflect.Struct {
		return "", fmt.Errorf("definition %s: kind %s cannot be a definition", name, t.Kind())
	}
	s := &spec.Schema{}
	g.defs[name] = s // registered first so recursive types terminate
	prev := g.current
	g.current = name
	defer func() { g.current = prev }()

	s.Description = typeDoc(t)[""]
	s.Type = spec.StringOrArray{"object"}
	props := make(map[string]spec.Schema, t.NumField())
	var required []string
	if err := g.fields(name, t, props, &required); err != nil {
		return "", err
	}
	if len(props) > 0 {
		s.Properties = props
	}
	s.Required = required
	return name, nil
}

// specialDefinition returns the hand-written schema of the apimachinery types
// whose JSON form is not their Go structure, or nil for ordinary types.
func (g *generator) specialDefinition(t reflect.Type) *spec.Schema {
	str := func(desc, format string) *spec.Schema {
		return &spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Type: spec.StringOrArray{"string"}, Format: format}}
	}
	oneOf := func(desc, format string, types ...string) *spec.Schema {
		s := &spec.Schema{SchemaProps: spec.SchemaProps{Description: desc, Format: format}}
		for _, typ := range types {
			s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}}})
		}
		return s
	}
	switch t {
	case typeTime:
		return str(descTime, "date-time")
	case typeMicroTime:
		return str(descMicroTime, "date-time")
	case typeDuration:
		return str(descDuration, "")
	case typeQuantity:
		if g.flavor == flavorV3 {
			return oneOf(descQuantity, "", "string", "number")
		}
		return str(descQuantity, "")
	case typeIntOrString:
		if g.flavor == flavorV3 {
			return oneOf(descIntOrString, "int-or-string", "integer", "string")
		}
		return str(descIntOrString, "int-or-string")
	case typeRawExt:
		return &spec.Schema{SchemaProps: spec.SchemaProps{Description: descRawExt, Type: spec.StringOrArray{"object"}}}
	case typeFieldsV1:
		return &spec.Schema{SchemaProps: spec.SchemaProps{Description: typeDoc(t)[""], Type: spec.StringOrArray{"object"}}}
	}
	return nil
}

func isSpecial(t reflect.Type) bool {
	switch t {
	case typeTime, typeMicroTime, typeDuration, typeQuantity, typeIntOrString, typeRawExt, typeFieldsV1:
		return true
	}
	return false
}

// typeDoc returns the SwaggerDoc map of t, or nil when it has none.
func typeDoc(t reflect.Type) map[string]string {
	if t.Implements(typeSwaggerDoc) {
		return reflect.Zero(t).Interface().(swaggerDocer).SwaggerDoc()
	}
	return nil
}

// fields adds the JSON properties of struct t to props, flattening inlined
// embedded structs the way encoding/json does.
func (g *generator) fields(owner string, t reflect.Type, props map[string]spec.Schema, required *[]string) error {
	doc := typeDoc(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		jsonName, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && jsonName == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && !isSpecial(et) {
				if err := g.fields(owner, et, props, required); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if jsonName == "" {
			jsonName = f.Name
		}
		s, err := g.schemaOf(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", owner, jsonName, err)
		}
		s.Description = doc[jsonName]
		if strategy := f.Tag.Get("patchStrategy"); strategy != "" {
			s.AddExtension(extPatchStrategy, strategy)
		}
		isList := len(s.Type) == 1 && s.Type[0] == "array"
		if key := f.Tag.Get("patchMergeKey"); key != "" {
			s.AddExtension(extPatchMergeKey, key)
			if isList {
				keys := listMapKeyOverrides[owner+"."+jsonName]
				if keys == nil {
					keys = []string{key}
				}
				s.AddExtension(extListType, "map")
				s.AddExtension(extListMapKeys, keys)
			}
		} else if isList && strings.Contains(f.Tag.Get("patchStrategy"), "merge") {
			// Merged lists of scalars behave as sets.
			s.AddExtension(extListType, "set")
		}
		if g.flavor == flavorV3 && s.Ref.String() != "" {
			// kubectl explain reads a field's own description only when the
			// reference is wrapped in allOf, as upstream's v3 builder does.
			s = &spec.Schema{
				SchemaProps:      spec.SchemaProps{AllOf: []spec.Schema{{SchemaProps: spec.SchemaProps{Ref: s.Ref}}}, Description: s.Description},
				VendorExtensible: s.VendorExtensible,
			}
		}
		props[jsonName] = *s
		if isRequired(owner+"."+jsonName, f.Type, opts) {
			*required = append(*required, jsonName)
		}
	}
	return nil
}

// schemaOf returns the schema used where a value of type t appears: a
// reference for named structs and special types, an inline schema otherwise.
func (g *generator) schemaOf(t reflect.Type) (*spec.Schema, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isSpecial(t) || (t.Kind() == reflect.Struct && t.Name() != "") {
		name, err := g.define(t)
		if err != nil {
			return nil, err
		}
		return g.ref(name), nil
	}
	inline := func(typ, format string) *spec.Schema {
		return &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}, Format: format}}
	}
	switch t.Kind() {
	case reflect.String:
		return inline("string", ""), nil
	case reflect.Bool:
		return inline("boolean", ""), nil
	case reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int, reflect.Uint16, reflect.Uint8:
		return inline("integer", "int32"), nil
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return inline("integer", "int64"), nil
	case reflect.Float64:
		return inline("number", "double"), nil
	case reflect.Float32:
		return inline("number", "float"), nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return inline("string", "byte"), nil
		}
		item, err := g.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		s := inline("array", "")
		s.Items = &spec.SchemaOrArray{Schema: item}
		return s, nil
	case reflect.Map:
		val, err := g.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		s := inline("object", "")
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: val}
		return s, nil
	case reflect.Interface, reflect.Struct:
		// Anonymous structs and interfaces carry arbitrary JSON objects.
		return inline("object", ""), nil
	}
	return nil, fmt.Errorf("unsupported Go kind %s (%s)", t.Kind(), t)
}

// addGVK appends a group-version-kind to a definition's extension list,
// keeping the list free of duplicates.
func addGVK(s *spec.Schema, group, version, kind string) {
	entry := map[string]any{"group": group, "version": version, "kind": kind}
	list, _ := s.Extensions[extGVK].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		if m["group"] == group && m["version"] == version && m["kind"] == kind {
			return
		}
	}
	s.AddExtension(extGVK, append(list, entry))
}

// closure returns the names reachable from roots through definition
// references, roots included.
func (g *generator) closure(roots []string) map[string]struct{} {
	seen := make(map[string]struct{}, 256)
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := seen[n]; ok {
			continue
		}
		seen[n] = struct{}{}
		for d := range g.deps[n] {
			stack = append(stack, d)
		}
	}
	return seen
}
