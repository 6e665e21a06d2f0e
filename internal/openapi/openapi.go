package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Resource describes one served REST resource: what the OpenAPI documents
// need to lay out its paths and to find the Go types of its bodies.
type Resource struct {
	GVK          schema.GroupVersionKind // e.g. apps/v1 Deployment
	ListKind     string                  // e.g. DeploymentList
	Resource     string                  // plural, e.g. deployments
	Namespaced   bool
	Verbs        []string // subset of get list watch create update patch delete deletecollection
	Subresources []Subresource
	Object       runtime.Object // zero value of the Go type, e.g. &appsv1.Deployment{}
	List         runtime.Object // e.g. &appsv1.DeploymentList{}; may be nil for create-only resources such as bindings
}

// Subresource describes a subresource of a Resource (status, scale, binding,
// eviction) and the kind of its request and response bodies.
type Subresource struct {
	Name   string                  // status, scale, binding, eviction
	GVK    schema.GroupVersionKind // Deployment for status, autoscaling/v1 Scale for scale, core/v1 Binding
	Verbs  []string                // get, update, patch, create
	Object runtime.Object          // zero value of the body's Go type
}

// Info is the title and version the documents announce in their info block.
type Info struct {
	Title   string // e.g. "Kubernetes"
	Version string // e.g. "v1.37.2"
}

// Spec holds the OpenAPI documents of a set of resources, encoded once by
// Build so that requests are served from cached bytes.
type Spec struct {
	v2 document
	// v3 holds one document per group-version, keyed by its path under
	// /openapi/v3/ ("api/v1", "apis/apps/v1").
	v3     map[string]*document
	v3Root document

	// v2Proto is the protobuf form of v2, encoded on the first request that
	// asks for it because the conversion costs more than the rest of Build.
	v2ProtoOnce sync.Once
	v2Proto     document
	v2ProtoErr  error
}

// document is one encoded response body with the ETag derived from it.
type document struct {
	body []byte
	etag string // unquoted
}

// Build reflects over the Go types of resources and encodes the OpenAPI v2
// document and one v3 document per group-version.
func Build(resources []Resource, info Info) (*Spec, error) {
	if len(resources) == 0 {
		return nil, errors.New("build openapi: no resources")
	}
	ps := newParamSet()
	g2 := newGenerator(flavorV2)
	g3 := newGenerator(flavorV3)

	// Bodies shared by every group-version document.
	common := []reflect.Type{
		reflect.TypeFor[metav1.Status](),
		reflect.TypeFor[metav1.DeleteOptions](),
		reflect.TypeFor[metav1.Patch](),
		reflect.TypeFor[metav1.WatchEvent](),
	}
	for _, g := range []*generator{g2, g3} {
		for _, t := range common {
			if _, err := g.define(t); err != nil {
				return nil, fmt.Errorf("build openapi: %w", err)
			}
		}
	}

	var routes []route
	gvs := map[schema.GroupVersion]struct{}{}
	for _, r := range resources {
		if err := validateResource(r); err != nil {
			return nil, fmt.Errorf("build openapi: %w", err)
		}
		gvs[r.GVK.GroupVersion()] = struct{}{}
		var objDef, listDef string
		subDefs := map[string]string{}
		for _, g := range []*generator{g2, g3} {
			var err error
			if objDef, err = defineKind(g, r.Object, r.GVK); err != nil {
				return nil, fmt.Errorf("build openapi: %s: %w", r.Resource, err)
			}
			if r.List != nil {
				if listDef, err = defineKind(g, r.List, r.GVK.GroupVersion().WithKind(r.ListKind)); err != nil {
					return nil, fmt.Errorf("build openapi: %s: %w", r.Resource, err)
				}
			}
			for _, sub := range r.Subresources {
				d, err := defineKind(g, sub.Object, sub.GVK)
				if err != nil {
					return nil, fmt.Errorf("build openapi: %s/%s: %w", r.Resource, sub.Name, err)
				}
				subDefs[sub.Name] = d
			}
		}
		routes = append(routes, routesFor(r, objDef, listDef, subDefs, ps)...)
	}
	// The option and event kinds exist in every served group-version.
	for _, g := range []*generator{g2, g3} {
		addGVK(g.defs[defStatus], "", "v1", "Status")
		for _, gv := range sortedGVs(gvs) {
			addGVK(g.defs[defDeleteOptions], gv.Group, gv.Version, "DeleteOptions")
			addGVK(g.defs[defWatchEvent], gv.Group, gv.Version, "WatchEvent")
		}
	}

	infoJSON, err := json.Marshal(&spec.Info{InfoProps: spec.InfoProps{Title: info.Title, Version: info.Version}})
	if err != nil {
		return nil, fmt.Errorf("build openapi: encode info: %w", err)
	}
	// Encoding dominates Build; the v2 and v3 halves share nothing mutable,
	// so they run side by side to shorten server start-up.
	s := &Spec{}
	var eg errgroup.Group
	eg.Go(func() error {
		var err error
		s.v2, err = encodeV2(routes, g2, infoJSON)
		return err
	})
	eg.Go(func() error {
		var err error
		s.v3, s.v3Root, err = encodeV3(routes, g3, infoJSON)
		return err
	})
	if err := eg.Wait(); err != nil {
		return nil, fmt.Errorf("build openapi: %w", err)
	}
	return s, nil
}

// encodeV2 encodes the swagger 2.0 document.
func encodeV2(routes []route, g *generator, info []byte) (document, error) {
	raw, err := encodeDefs(g.defs)
	if err != nil {
		return document{}, fmt.Errorf("encode v2 definitions: %w", err)
	}
	paths, params, err := buildV2(routes)
	if err != nil {
		return document{}, err
	}
	body, err := assembleV2(paths, params, raw, info)
	if err != nil {
		return document{}, fmt.Errorf("encode v2: %w", err)
	}
	return document{body: body, etag: etagOf(body)}, nil
}

// encodeV3 encodes one OpenAPI 3.0 document per group-version, keyed by its
// path under /openapi/v3/, and the discovery document that lists them.
func encodeV3(routes []route, g *generator, info []byte) (map[string]*document, document, error) {
	raw, err := encodeDefs(g.defs)
	if err != nil {
		return nil, document{}, fmt.Errorf("encode v3 schemas: %w", err)
	}
	byGV := map[schema.GroupVersion][]route{}
	for _, rt := range routes {
		byGV[rt.gv] = append(byGV[rt.gv], rt)
	}
	docs := make(map[string]*document, len(byGV))
	root := struct {
		Paths map[string]rootEntry `json:"paths"`
	}{Paths: make(map[string]rootEntry, len(byGV))}
	for gv, rts := range byGV {
		paths, roots := buildV3(rts)
		body, err := assembleV3(paths, g.closure(roots), raw, info)
		if err != nil {
			return nil, document{}, fmt.Errorf("encode v3 %s: %w", gv, err)
		}
		key := gvPath(gv)[1:]
		d := &document{body: body, etag: etagOf(body)}
		docs[key] = d
		root.Paths[key] = rootEntry{ServerRelativeURL: V3Path + "/" + key + "?hash=" + d.etag}
	}
	rootBody, err := json.Marshal(root)
	if err != nil {
		return nil, document{}, fmt.Errorf("encode v3 root: %w", err)
	}
	return docs, document{body: rootBody, etag: etagOf(rootBody)}, nil
}

// rootEntry is one group-version in the /openapi/v3 discovery document.
type rootEntry struct {
	ServerRelativeURL string `json:"serverRelativeURL"`
}

func validateResource(r Resource) error {
	switch {
	case r.GVK.Kind == "" || r.GVK.Version == "":
		return fmt.Errorf("resource %q: kind and version are required", r.Resource)
	case r.Resource == "":
		return fmt.Errorf("resource of kind %s: plural name is required", r.GVK.Kind)
	case r.Object == nil:
		return fmt.Errorf("resource %q: Object is required", r.Resource)
	case (has(r.Verbs, "list") || has(r.Verbs, "watch") || has(r.Verbs, "deletecollection")) && (r.List == nil || r.ListKind == ""):
		return fmt.Errorf("resource %q: List and ListKind are required to list, watch or deletecollection", r.Resource)
	}
	for _, sub := range r.Subresources {
		if sub.Name == "" || sub.Object == nil || sub.GVK.Kind == "" {
			return fmt.Errorf("resource %q: subresource %q needs a name, GVK and Object", r.Resource, sub.Name)
		}
	}
	return nil
}

// defineKind defines the Go type of obj and tags it with gvk.
func defineKind(g *generator, obj runtime.Object, gvk schema.GroupVersionKind) (string, error) {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name, err := g.define(t)
	if err != nil {
		return "", err
	}
	addGVK(g.defs[name], gvk.Group, gvk.Version, gvk.Kind)
	return name, nil
}

func sortedGVs(m map[schema.GroupVersion]struct{}) []schema.GroupVersion {
	out := make([]schema.GroupVersion, 0, len(m))
	for gv := range m {
		out = append(out, gv)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Version < out[j].Version
	})
	return out
}

// buildV2 lays out the swagger 2.0 paths. Parameters are shared through
// #/parameters/ references, as upstream does, which keeps the document small.
func buildV2(routes []route) (*spec.Paths, map[string]spec.Parameter, error) {
	paths := &spec.Paths{Paths: make(map[string]spec.PathItem, len(routes))}
	params := map[string]spec.Parameter{}
	use := func(p param) spec.Parameter {
		key := p.name
		if p.in == "path" {
			key += "-path-" + strings.ReplaceAll(p.description, " ", "-")
		}
		if existing, ok := params[key]; ok && existing.Description != p.description {
			key += "-" + etagOf([]byte(p.description))[:8]
		}
		params[key] = v2Param(p)
		return spec.Parameter{Refable: spec.Refable{Ref: spec.MustCreateRef("#/parameters/" + key)}}
	}
	for _, rt := range routes {
		if _, dup := paths.Paths[rt.path]; dup {
			return nil, nil, fmt.Errorf("path %s is declared twice", rt.path)
		}
		item := spec.PathItem{}
		for _, p := range rt.params {
			item.Parameters = append(item.Parameters, use(p))
		}
		for _, o := range rt.ops {
			op := &spec.Operation{}
			op.ID = o.id
			op.Description = o.description
			op.Tags = []string{o.tag}
			op.Schemes = []string{"https"}
			op.Produces = o.produces
			op.Consumes = o.consumes
			if op.Consumes == nil {
				op.Consumes = consumesObject
			}
			for _, p := range o.query {
				op.Parameters = append(op.Parameters, use(p))
			}
			if o.body != "" {
				op.Parameters = append(op.Parameters, spec.Parameter{ParamProps: spec.ParamProps{
					Name: "body", In: "body", Required: true,
					Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/definitions/" + o.body)}},
				}})
			}
			op.Responses = &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{}}}
			for _, r := range o.responses {
				op.Responses.StatusCodeResponses[r.code] = spec.Response{ResponseProps: spec.ResponseProps{
					Description: r.description,
					Schema:      &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/definitions/" + r.def)}},
				}}
			}
			op.Responses.StatusCodeResponses[401] = spec.Response{ResponseProps: spec.ResponseProps{Description: "Unauthorized"}}
			op.AddExtension(extAction, o.action)
			op.AddExtension(extGVK, gvkMap(o.gvk))
			setV2Op(&item, o.method, op)
		}
		paths.Paths[rt.path] = item
	}
	return paths, params, nil
}

func setV2Op(item *spec.PathItem, method string, op *spec.Operation) {
	switch method {
	case "get":
		item.Get = op
	case "put":
		item.Put = op
	case "post":
		item.Post = op
	case "delete":
		item.Delete = op
	case "patch":
		item.Patch = op
	}
}

func v2Param(p param) spec.Parameter {
	return spec.Parameter{
		SimpleSchema:      spec.SimpleSchema{Type: p.typ},
		CommonValidations: spec.CommonValidations{UniqueItems: true},
		ParamProps: spec.ParamProps{
			Name: p.name, In: p.in, Description: p.description, Required: p.required,
		},
	}
}

func gvkMap(gvk schema.GroupVersionKind) map[string]any {
	return map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// buildV3 lays out the OpenAPI 3.0 paths of one group-version and returns
// the schemas its operations use directly.
func buildV3(routes []route) (*spec3.Paths, []string) {
	paths := &spec3.Paths{Paths: make(map[string]*spec3.Path, len(routes))}
	var roots []string
	for _, rt := range routes {
		item := &spec3.Path{}
		for _, p := range rt.params {
			item.Parameters = append(item.Parameters, v3Param(p))
		}
		for _, o := range rt.ops {
			op := &spec3.Operation{}
			op.OperationId = o.id
			op.Description = o.description
			op.Tags = []string{o.tag}
			for _, p := range o.query {
				op.Parameters = append(op.Parameters, v3Param(p))
			}
			if o.body != "" {
				roots = append(roots, o.body)
				content := make(map[string]*spec3.MediaType, len(o.consumes))
				for _, ct := range o.consumes {
					content[ct] = v3Media(o.body)
				}
				op.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{Content: content, Required: true}}
			}
			op.Responses = &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}}
			for _, r := range o.responses {
				roots = append(roots, r.def)
				content := make(map[string]*spec3.MediaType, len(o.produces))
				for _, ct := range o.produces {
					content[ct] = v3Media(r.def)
				}
				op.Responses.StatusCodeResponses[r.code] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: r.description, Content: content}}
			}
			op.Responses.StatusCodeResponses[401] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: "Unauthorized"}}
			op.AddExtension(extAction, o.action)
			op.AddExtension(extGVK, gvkMap(o.gvk))
			setV3Op(item, o.method, op)
		}
		paths.Paths[rt.path] = item
	}
	return paths, roots
}

func setV3Op(item *spec3.Path, method string, op *spec3.Operation) {
	switch method {
	case "get":
		item.Get = op
	case "put":
		item.Put = op
	case "post":
		item.Post = op
	case "delete":
		item.Delete = op
	case "patch":
		item.Patch = op
	}
}

func v3Param(p param) *spec3.Parameter {
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name: p.name, In: p.in, Description: p.description, Required: p.required,
		Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{p.typ}, UniqueItems: true}},
	}}
}

func v3Media(def string) *spec3.MediaType {
	return &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{
		Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef("#/components/schemas/" + def)}},
	}}
}
