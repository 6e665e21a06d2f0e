package openapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/spec3"
	kproto "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/util/proto/validation"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var (
	buildOnce sync.Once
	built     *Spec
	buildErr  error
)

// testSpec builds the fixture spec once per test binary.
func testSpec(t testing.TB) *Spec {
	t.Helper()
	buildOnce.Do(func() { built, buildErr = Build(testResources(), Info{Title: "Kubernetes", Version: "v1.37.2"}) })
	if buildErr != nil {
		t.Fatalf("Build: %v", buildErr)
	}
	return built
}

func v2Doc(t *testing.T) *spec.Swagger {
	t.Helper()
	var sw spec.Swagger
	if err := json.Unmarshal(testSpec(t).v2.body, &sw); err != nil {
		t.Fatalf("decode v2: %v", err)
	}
	return &sw
}

func v3Doc(t *testing.T, key string) *spec3.OpenAPI {
	t.Helper()
	d := testSpec(t).v3[key]
	if d == nil {
		t.Fatalf("no v3 document %q", key)
	}
	var doc spec3.OpenAPI
	if err := json.Unmarshal(d.body, &doc); err != nil {
		t.Fatalf("decode v3 %s: %v", key, err)
	}
	return &doc
}

func TestDefinitions(t *testing.T) {
	defs := v2Doc(t).Definitions
	core := v3Doc(t, "api/v1").Components.Schemas
	cases := []struct {
		name     string
		def      string
		wantDesc string // substring of the definition's description
		prop     string // a property to check, "" for none
		propDesc string
		wantGVK  string // "group/version/kind", "" when the definition has none
	}{
		{"pod", "io.k8s.api.core.v1.Pod", "Pod is a collection of containers", "spec", "Specification of the desired behavior of the pod", "/v1/Pod"},
		{"object meta", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "ObjectMeta is metadata", "labels", "Map of string keys and values", ""},
		{"inlined type meta", "io.k8s.api.core.v1.ConfigMap", "ConfigMap holds configuration data", "apiVersion", "APIVersion defines the versioned schema", "/v1/ConfigMap"},
		{"list kind", "io.k8s.api.apps.v1.DeploymentList", "DeploymentList is a list of Deployments", "items", "Items is the list of Deployments", "apps/v1/DeploymentList"},
		{"scale subresource", "io.k8s.api.autoscaling.v1.Scale", "Scale represents a scaling request", "", "", "autoscaling/v1/Scale"},
		{"rbac", "io.k8s.api.rbac.v1.ClusterRole", "ClusterRole is a cluster level", "rules", "holds all the PolicyRules", "rbac.authorization.k8s.io/v1/ClusterRole"},
		{"time", "io.k8s.apimachinery.pkg.apis.meta.v1.Time", "Time is a wrapper around time.Time", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := defs[tc.def]
			if !ok {
				t.Fatalf("v2 definition %s missing", tc.def)
			}
			if !strings.Contains(d.Description, tc.wantDesc) {
				t.Errorf("description = %q, want it to contain %q", d.Description, tc.wantDesc)
			}
			if tc.prop != "" && !strings.Contains(d.Properties[tc.prop].Description, tc.propDesc) {
				t.Errorf("%s description = %q, want it to contain %q", tc.prop, d.Properties[tc.prop].Description, tc.propDesc)
			}
			var gvks []string
			list, _ := d.Extensions[extGVK].([]any)
			for _, e := range list {
				m := e.(map[string]any)
				gvks = append(gvks, m["group"].(string)+"/"+m["version"].(string)+"/"+m["kind"].(string))
			}
			if tc.wantGVK == "" && len(gvks) != 0 {
				t.Errorf("GVKs = %v, want none", gvks)
			}
			if tc.wantGVK != "" && (len(gvks) != 1 || gvks[0] != tc.wantGVK) {
				t.Errorf("GVKs = %v, want [%s]", gvks, tc.wantGVK)
			}
			if strings.HasPrefix(tc.def, "io.k8s.api.core.v1.") || strings.HasPrefix(tc.def, "io.k8s.apimachinery") {
				if _, ok := core[tc.def]; !ok {
					t.Errorf("v3 api/v1 lacks schema %s", tc.def)
				}
			}
		})
	}
}

func TestFieldSchemas(t *testing.T) {
	defs := v2Doc(t).Definitions
	v3 := v3Doc(t, "apis/apps/v1").Components.Schemas
	prop := func(def, field string) spec.Schema {
		t.Helper()
		d, ok := defs[def]
		if !ok {
			t.Fatalf("definition %s missing", def)
		}
		p, ok := d.Properties[field]
		if !ok {
			t.Fatalf("%s has no property %s", def, field)
		}
		return p
	}
	cases := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"containers merge by name", func(t *testing.T) {
			p := prop("io.k8s.api.core.v1.PodSpec", "containers")
			if p.Extensions[extPatchStrategy] != "merge" || p.Extensions[extPatchMergeKey] != "name" || p.Extensions[extListType] != "map" {
				t.Errorf("extensions = %v", p.Extensions)
			}
			if p.Items.Schema.Ref.String() != "#/definitions/io.k8s.api.core.v1.Container" {
				t.Errorf("items ref = %q", p.Items.Schema.Ref.String())
			}
		}},
		{"container ports keyed by port and protocol", func(t *testing.T) {
			keys, _ := prop("io.k8s.api.core.v1.Container", "ports").Extensions[extListMapKeys].([]any)
			if len(keys) != 2 || keys[0] != "containerPort" || keys[1] != "protocol" {
				t.Errorf("list-map-keys = %v", keys)
			}
		}},
		{"volumes retain keys", func(t *testing.T) {
			if got := prop("io.k8s.api.core.v1.PodSpec", "volumes").Extensions[extPatchStrategy]; got != "merge,retainKeys" {
				t.Errorf("patch strategy = %v", got)
			}
		}},
		{"required from json tags", func(t *testing.T) {
			if r := defs["io.k8s.api.core.v1.PodSpec"].Required; len(r) != 1 || r[0] != "containers" {
				t.Errorf("PodSpec required = %v, want [containers]", r)
			}
			if r := defs["io.k8s.api.core.v1.Container"].Required; len(r) != 1 || r[0] != "name" {
				t.Errorf("Container required = %v, want [name]", r)
			}
			if r := defs["io.k8s.api.rbac.v1.ClusterRole"].Required; len(r) != 0 {
				t.Errorf("ClusterRole required = %v, want none (aggregated roles have no rules)", r)
			}
			if r := defs["io.k8s.api.core.v1.GRPCAction"].Required; len(r) != 1 || r[0] != "port" {
				t.Errorf("GRPCAction required = %v, want [port] (service is a pointer)", r)
			}
			if r := defs["io.k8s.api.networking.v1.HTTPIngressPath"].Required; len(r) != 2 || r[0] != "pathType" {
				t.Errorf("HTTPIngressPath required = %v, want [pathType backend]", r)
			}
			if r := defs["io.k8s.api.core.v1.Pod"].Required; len(r) != 0 {
				t.Errorf("Pod required = %v, want none", r)
			}
		}},
		{"quantity and int-or-string", func(t *testing.T) {
			q := defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]
			if !q.Type.Contains("string") {
				t.Errorf("v2 Quantity type = %v", q.Type)
			}
			ios := defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
			if !ios.Type.Contains("string") || ios.Format != "int-or-string" {
				t.Errorf("v2 IntOrString = %v %q", ios.Type, ios.Format)
			}
			if v := v3["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]; v == nil || len(v.OneOf) != 2 || v.Format != "int-or-string" {
				t.Errorf("v3 IntOrString = %+v", v)
			}
		}},
		{"maps, bytes and times", func(t *testing.T) {
			if p := prop("io.k8s.api.core.v1.Secret", "data"); !p.Type.Contains("object") || p.AdditionalProperties == nil || p.AdditionalProperties.Schema.Format != "byte" {
				t.Errorf("Secret.data = %+v", p)
			}
			if p := prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "creationTimestamp"); p.Ref.String() != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time" {
				t.Errorf("creationTimestamp ref = %q", p.Ref.String())
			}
			if p := prop("io.k8s.api.apps.v1.ControllerRevision", "data"); p.Ref.String() != "#/definitions/io.k8s.apimachinery.pkg.runtime.RawExtension" {
				t.Errorf("ControllerRevision.data ref = %q", p.Ref.String())
			}
		}},
		{"v3 refs use components", func(t *testing.T) {
			p := v3["io.k8s.api.apps.v1.Deployment"].Properties["spec"]
			if len(p.AllOf) != 1 || p.AllOf[0].Ref.String() != "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec" || p.Description == "" {
				t.Errorf("Deployment.spec = %+v, want a described allOf reference", p)
			}
			if _, ok := v3["io.k8s.api.rbac.v1.Role"]; ok {
				t.Errorf("apps/v1 document carries the unrelated rbac Role schema")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.check)
	}
}

func TestPaths(t *testing.T) {
	cases := []struct {
		name, doc, path, method, wantID, wantAction, wantKind string
		wantParams                                            []string
	}{
		{"list namespaced pods", "api/v1", "/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list", "Pod", []string{"labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch", "allowWatchBookmarks"}},
		{"create deployment", "apis/apps/v1", "/apis/apps/v1/namespaces/{namespace}/deployments", "post", "createAppsV1NamespacedDeployment", "post", "Deployment", []string{"dryRun", "fieldManager", "fieldValidation"}},
		{"patch pod status", "api/v1", "/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patchCoreV1NamespacedPodStatus", "patch", "Pod", []string{"dryRun", "fieldManager", "fieldValidation", "force"}},
		{"patch cluster role", "apis/rbac.authorization.k8s.io/v1", "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}", "patch", "patchRbacAuthorizationV1ClusterRole", "patch", "ClusterRole", []string{"fieldValidation"}},
		{"all-namespaces list", "api/v1", "/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list", "Pod", nil},
		{"deletecollection", "apis/batch/v1", "/apis/batch/v1/namespaces/{namespace}/jobs", "delete", "deleteBatchV1CollectionNamespacedJob", "deletecollection", "Job", []string{"propagationPolicy", "labelSelector"}},
		{"scale", "apis/apps/v1", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "put", "replaceAppsV1NamespacedDeploymentScale", "put", "Scale", []string{"fieldValidation"}},
		{"create-only resource", "api/v1", "/api/v1/namespaces/{namespace}/bindings", "post", "createCoreV1NamespacedBinding", "post", "Binding", []string{"fieldValidation"}},
		{"binding", "api/v1", "/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "createCoreV1NamespacedPodBinding", "post", "Binding", []string{"dryRun"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := v3Doc(t, tc.doc)
			item := doc.Paths.Paths[tc.path]
			if item == nil {
				t.Fatalf("path %s missing", tc.path)
			}
			ops := map[string]*spec3.Operation{"get": item.Get, "put": item.Put, "post": item.Post, "delete": item.Delete, "patch": item.Patch}
			op := ops[tc.method]
			if op == nil {
				t.Fatalf("%s %s missing", tc.method, tc.path)
			}
			if op.OperationId != tc.wantID {
				t.Errorf("operationId = %q, want %q", op.OperationId, tc.wantID)
			}
			if op.Extensions[extAction] != tc.wantAction {
				t.Errorf("action = %v, want %s", op.Extensions[extAction], tc.wantAction)
			}
			if gvk, _ := op.Extensions[extGVK].(map[string]any); gvk["kind"] != tc.wantKind {
				t.Errorf("gvk = %v, want kind %s", gvk, tc.wantKind)
			}
			have := map[string]bool{}
			for _, p := range op.Parameters {
				have[p.Name] = p.In == "query"
			}
			for _, p := range tc.wantParams {
				if !have[p] {
					t.Errorf("query parameter %s missing", p)
				}
			}
			if tc.method == "patch" {
				for _, ct := range consumesPatch {
					if op.RequestBody.Content[ct] == nil {
						t.Errorf("patch body lacks %s", ct)
					}
				}
			}
		})
	}
	// v2 carries the same operations.
	sw := v2Doc(t)
	if op := sw.Paths.Paths["/api/v1/namespaces/{namespace}/pods/{name}"].Patch; op == nil || op.ID != "patchCoreV1NamespacedPod" {
		t.Errorf("v2 pod patch = %+v", op)
	}
}

// TestV2Protobuf checks the document kubectl fetches for client-side
// validation: it must survive gnostic, and kube-openapi's model parser must
// accept it and validate a pod against it.
func TestV2Protobuf(t *testing.T) {
	s := testSpec(t)
	req := httptest.NewRequest(http.MethodGet, V2Path, nil)
	req.Header.Set("Accept", mimeV2ProtoDeprecated)
	rec := httptest.NewRecorder()
	s.V2Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != mimeV2Proto {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc openapi_v2.Document
	if err := proto.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("unmarshal protobuf: %v", err)
	}
	models, err := kproto.NewOpenAPIData(&doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}
	pod := models.LookupModel("io.k8s.api.core.v1.Pod")
	if pod == nil {
		t.Fatal("Pod model missing")
	}
	cases := []struct {
		name    string
		obj     map[string]any
		wantErr string
	}{
		{"valid pod", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "a"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "busybox", "resources": map[string]any{"limits": map[string]any{"cpu": "1"}}}}}}, ""},
		{"unknown field", map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": map[string]any{"containers": []any{map[string]any{"name": "c", "imagex": "busybox"}}}}, "imagex"},
		{"missing required", map[string]any{"apiVersion": "v1", "kind": "Pod", "spec": map[string]any{"containers": []any{map[string]any{"image": "busybox"}}}}, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := validation.ValidateModel(tc.obj, pod, "Pod")
			if tc.wantErr == "" && len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			if tc.wantErr != "" && (len(errs) == 0 || !strings.Contains(errs[0].Error(), tc.wantErr)) {
				t.Fatalf("errors = %v, want one mentioning %q", errs, tc.wantErr)
			}
		})
	}
}

func TestHandlers(t *testing.T) {
	s := testSpec(t)
	var root struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	get := func(h http.Handler, target, accept, inm string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := get(s.V3Handler(), V3Path, "", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &root); err != nil {
		t.Fatalf("root: %v", err)
	}
	coreURL := root.Paths["api/v1"].ServerRelativeURL
	if !strings.HasPrefix(coreURL, "/openapi/v3/api/v1?hash=") || root.Paths["apis/apps/v1"].ServerRelativeURL == "" {
		t.Fatalf("root paths = %v", root.Paths)
	}
	cases := []struct {
		name, target, accept, inm string
		h                         http.Handler
		wantCode                  int
		wantHeader, wantValue     string
	}{
		{"v3 with current hash is immutable", coreURL, "application/json", "", s.V3Handler(), 200, "Cache-Control", "public, immutable"},
		{"v3 stale hash redirects", "/openapi/v3/api/v1?hash=0000", "", "", s.V3Handler(), 301, "Location", coreURL},
		{"v3 without hash", "/openapi/v3/apis/apps/v1", "*/*", "", s.V3Handler(), 200, "Content-Type", "application/json"},
		{"v3 unknown group-version", "/openapi/v3/apis/nope/v1", "", "", s.V3Handler(), 404, "", ""},
		{"v3 protobuf only is not acceptable", "/openapi/v3/api/v1", "application/com.github.proto-openapi.spec.v3@v1.0+protobuf", "", s.V3Handler(), 406, "", ""},
		{"v3 etag revalidation", "/openapi/v3/api/v1", "", `"` + s.v3["api/v1"].etag + `"`, s.V3Handler(), 304, "", ""},
		{"v2 json", V2Path, "application/json", "", s.V2Handler(), 200, "Content-Type", "application/json"},
		{"v2 etag revalidation", V2Path, "application/json", `"` + s.v2.etag + `"`, s.V2Handler(), 304, "", ""},
		{"v2 unacceptable", V2Path, "text/html", "", s.V2Handler(), 406, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(tc.h, tc.target, tc.accept, tc.inm)
			if rec.Code != tc.wantCode {
				t.Fatalf("status = %d, want %d", rec.Code, tc.wantCode)
			}
			if tc.wantHeader != "" && rec.Header().Get(tc.wantHeader) != tc.wantValue {
				t.Errorf("%s = %q, want %q", tc.wantHeader, rec.Header().Get(tc.wantHeader), tc.wantValue)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		name, accept, want string
	}{
		{"empty takes first offer", "", mimeJSON},
		{"exact", mimeV2ProtoDeprecated, mimeV2ProtoDeprecated},
		{"wildcard", "*/*", mimeJSON},
		{"q-values", "application/json;q=0.5, " + mimeV2Proto, mimeV2Proto},
		{"q zero refuses", "application/json;q=0", ""},
		{"nothing matches", "text/plain", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := negotiate(tc.accept, mimeJSON, mimeV2Proto, mimeV2ProtoDeprecated); got != tc.want {
				t.Errorf("negotiate(%q) = %q, want %q", tc.accept, got, tc.want)
			}
		})
	}
}

func TestBuildRejectsIncompleteResource(t *testing.T) {
	good := testResources()[0]
	cases := []struct {
		name   string
		mutate func(r *Resource)
	}{
		{"no plural", func(r *Resource) { r.Resource = "" }},
		{"no list object for a listable resource", func(r *Resource) { r.List = nil }},
		{"no kind", func(r *Resource) { r.GVK.Kind = "" }},
		{"subresource without object", func(r *Resource) { r.Subresources = []Subresource{{Name: "status", GVK: r.GVK}} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.mutate(&r)
			if _, err := Build([]Resource{r}, Info{}); err == nil {
				t.Fatal("Build succeeded, want an error")
			}
		})
	}
}
