package openapi

import (
	"reflect"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// route is one URL path with its operations, in a form neutral between the
// v2 and v3 documents so both are emitted from the same list.
type route struct {
	path   string
	gv     schema.GroupVersion // the document (group-version) the path belongs to
	params []param             // path-level parameters
	ops    []operation
}

type operation struct {
	method      string // get, put, post, delete, patch
	id          string
	description string
	action      string
	gvk         schema.GroupVersionKind
	query       []param
	body        string   // definition name of the request body, "" for none
	consumes    []string // request body media types
	responses   []response
	produces    []string
	tag         string
}

type response struct {
	code        int
	description string
	def         string
}

type param struct {
	name        string
	in          string // path or query
	description string
	typ         string // string, boolean or integer
	required    bool
}

// Media types upstream lists on its operations.
var (
	producesObject = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	producesList   = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf", "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	consumesObject = []string{"*/*"}
	consumesPatch  = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"}
)

// Definitions every group-version document refers to.
var (
	defStatus        = DefinitionName(reflect.TypeFor[metav1.Status]())
	defDeleteOptions = DefinitionName(reflect.TypeFor[metav1.DeleteOptions]())
	defPatch         = DefinitionName(reflect.TypeFor[metav1.Patch]())
	defWatchEvent    = DefinitionName(reflect.TypeFor[metav1.WatchEvent]())
)

// paramSet holds the query parameters upstream derives from the option
// structs, with their descriptions taken from those structs' SwaggerDoc.
type paramSet struct {
	pretty, name, namespace                                  param
	dryRun, fieldManager, fieldManagerPatch, fieldValidation param
	force, gracePeriod, orphan, propagation                  param
	list                                                     []param // list and watch parameters, upstream order
}

func newParamSet() paramSet {
	listDoc := metav1.ListOptions{}.SwaggerDoc()
	createDoc := metav1.CreateOptions{}.SwaggerDoc()
	patchDoc := metav1.PatchOptions{}.SwaggerDoc()
	deleteDoc := metav1.DeleteOptions{}.SwaggerDoc()
	q := func(name, typ, desc string) param {
		return param{name: name, in: "query", typ: typ, description: desc}
	}
	ps := paramSet{
		pretty:            q("pretty", "string", "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
		namespace:         param{name: "namespace", in: "path", typ: "string", required: true, description: "object name and auth scope, such as for teams and projects"},
		dryRun:            q("dryRun", "string", createDoc["dryRun"]),
		fieldManager:      q("fieldManager", "string", createDoc["fieldManager"]),
		fieldManagerPatch: q("fieldManager", "string", patchDoc["fieldManager"]),
		fieldValidation:   q("fieldValidation", "string", createDoc["fieldValidation"]),
		force:             q("force", "boolean", patchDoc["force"]),
		gracePeriod:       q("gracePeriodSeconds", "integer", deleteDoc["gracePeriodSeconds"]),
		orphan:            q("orphanDependents", "boolean", deleteDoc["orphanDependents"]),
		propagation:       q("propagationPolicy", "string", deleteDoc["propagationPolicy"]),
	}
	for _, p := range []struct{ name, typ string }{
		{"allowWatchBookmarks", "boolean"},
		{"continue", "string"},
		{"fieldSelector", "string"},
		{"labelSelector", "string"},
		{"limit", "integer"},
		{"resourceVersion", "string"},
		{"resourceVersionMatch", "string"},
		{"sendInitialEvents", "boolean"},
		{"timeoutSeconds", "integer"},
		{"watch", "boolean"},
	} {
		ps.list = append(ps.list, q(p.name, p.typ, listDoc[p.name]))
	}
	return ps
}

// operationGroup renders a group and version the way upstream operation IDs
// spell them: "" → Core, rbac.authorization.k8s.io → RbacAuthorization.
func operationGroup(gv schema.GroupVersion) string {
	g := gv.Group
	if g == "" {
		g = "core"
	}
	return validOperationID(strings.TrimSuffix(g, ".k8s.io"), true) + validOperationID(gv.Version, true)
}

// tag is the upstream operation tag, e.g. core_v1 or rbacAuthorization_v1.
func tag(gv schema.GroupVersion) string {
	g := gv.Group
	if g == "" {
		g = "core"
	}
	return validOperationID(strings.TrimSuffix(g, ".k8s.io"), false) + "_" + validOperationID(gv.Version, false)
}

// validOperationID drops characters that are not letters or digits and
// capitalises the letter after each dropped one.
func validOperationID(s string, capitalizeFirst bool) string {
	var b strings.Builder
	capitalize := capitalizeFirst
	for i, r := range s {
		if unicode.IsLetter(r) || r == '_' || (i != 0 && unicode.IsDigit(r)) {
			if capitalize {
				b.WriteRune(unicode.ToUpper(r))
				capitalize = false
			} else {
				b.WriteRune(r)
			}
		} else {
			capitalize = true
		}
	}
	return b.String()
}

// gvPath is the URL prefix of a group-version: /api/v1 or /apis/apps/v1.
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "/api/" + gv.Version
	}
	return "/apis/" + gv.Group + "/" + gv.Version
}

func has(verbs []string, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// routesFor lays out the upstream paths and operations of one resource.
// objDef and listDef are the definition names of the resource's Go types and
// subDefs those of its subresources, by subresource name.
func routesFor(r Resource, objDef, listDef string, subDefs map[string]string, ps paramSet) []route {
	gv := r.GVK.GroupVersion()
	base := gvPath(gv)
	opGV := operationGroup(gv)
	tg := tag(gv)
	kind := r.GVK.Kind
	scope := ""
	nsParams := []param(nil)
	collection := base + "/" + r.Resource
	watchCollection := base + "/watch/" + r.Resource
	if r.Namespaced {
		scope = "Namespaced"
		nsParams = []param{ps.namespace}
		collection = base + "/namespaces/{namespace}/" + r.Resource
		watchCollection = base + "/watch/namespaces/{namespace}/" + r.Resource
	}
	nameParam := func(k string) param {
		return param{name: "name", in: "path", typ: "string", required: true, description: "name of the " + k}
	}
	objResp := func(codes ...int) []response {
		var out []response
		for _, c := range codes {
			out = append(out, response{code: c, description: statusText(c), def: objDef})
		}
		return out
	}
	deleteParams := []param{ps.dryRun, ps.gracePeriod, ps.orphan, ps.propagation}
	writeParams := []param{ps.dryRun, ps.fieldManager, ps.fieldValidation}
	patchParams := []param{ps.dryRun, ps.fieldManagerPatch, ps.fieldValidation, ps.force}
	op := func(method, verb, suffix, desc, action string, gvk schema.GroupVersionKind) operation {
		return operation{method: method, id: verb + opGV + suffix, description: desc, action: action, gvk: gvk, tag: tg, produces: producesObject}
	}

	var routes []route

	// Collection: list, create, deletecollection.
	coll := route{path: collection, gv: gv, params: append(append([]param(nil), nsParams...), ps.pretty)}
	if has(r.Verbs, "list") {
		o := op("get", "list", scope+kind, "list or watch objects of kind "+kind, "list", r.GVK)
		o.query = ps.list
		o.responses = []response{{200, "OK", listDef}}
		o.produces = producesList
		coll.ops = append(coll.ops, o)
	}
	if has(r.Verbs, "create") {
		o := op("post", "create", scope+kind, "create "+article(kind)+" "+kind, "post", r.GVK)
		o.query = writeParams
		o.body, o.consumes = objDef, consumesObject
		o.responses = objResp(200, 201, 202)
		coll.ops = append(coll.ops, o)
	}
	if has(r.Verbs, "deletecollection") {
		o := op("delete", "delete", "Collection"+scope+kind, "delete collection of "+kind, "deletecollection", r.GVK)
		o.query = append(append([]param(nil), deleteParams...), ps.list...)
		o.body, o.consumes = defDeleteOptions, consumesObject
		o.responses = []response{{200, "OK", defStatus}}
		coll.ops = append(coll.ops, o)
	}
	if len(coll.ops) > 0 {
		routes = append(routes, coll)
	}

	// Item: read, replace, patch, delete.
	itemPath := collection + "/{name}"
	item := route{path: itemPath, gv: gv, params: append(append([]param{nameParam(kind)}, nsParams...), ps.pretty)}
	if has(r.Verbs, "get") {
		o := op("get", "read", scope+kind, "read the specified "+kind, "get", r.GVK)
		o.responses = objResp(200)
		item.ops = append(item.ops, o)
	}
	if has(r.Verbs, "update") {
		o := op("put", "replace", scope+kind, "replace the specified "+kind, "put", r.GVK)
		o.query = writeParams
		o.body, o.consumes = objDef, consumesObject
		o.responses = objResp(200, 201)
		item.ops = append(item.ops, o)
	}
	if has(r.Verbs, "patch") {
		o := op("patch", "patch", scope+kind, "partially update the specified "+kind, "patch", r.GVK)
		o.query = patchParams
		o.body, o.consumes = defPatch, consumesPatch
		o.responses = objResp(200, 201)
		item.ops = append(item.ops, o)
	}
	if has(r.Verbs, "delete") {
		o := op("delete", "delete", scope+kind, "delete "+article(kind)+" "+kind, "delete", r.GVK)
		o.query = deleteParams
		o.body, o.consumes = defDeleteOptions, consumesObject
		o.responses = []response{{200, "OK", defStatus}, {202, "Accepted", defStatus}}
		item.ops = append(item.ops, o)
	}
	if len(item.ops) > 0 {
		routes = append(routes, item)
	}

	// Subresources.
	for _, sub := range r.Subresources {
		subDef := subDefs[sub.Name]
		subKind := sub.GVK.Kind
		suffix := scope + kind + validOperationID(sub.Name, true)
		rt := route{path: itemPath + "/" + sub.Name, gv: gv, params: append(append([]param{nameParam(subKind)}, nsParams...), ps.pretty)}
		resp := func(codes ...int) []response {
			var out []response
			for _, c := range codes {
				out = append(out, response{code: c, description: statusText(c), def: subDef})
			}
			return out
		}
		if has(sub.Verbs, "get") {
			o := op("get", "read", suffix, "read "+sub.Name+" of the specified "+kind, "get", sub.GVK)
			o.responses = resp(200)
			rt.ops = append(rt.ops, o)
		}
		if has(sub.Verbs, "create") {
			o := op("post", "create", suffix, "create "+sub.Name+" of "+article(kind)+" "+kind, "post", sub.GVK)
			o.query = writeParams
			o.body, o.consumes = subDef, consumesObject
			o.responses = resp(200, 201, 202)
			rt.ops = append(rt.ops, o)
		}
		if has(sub.Verbs, "update") {
			o := op("put", "replace", suffix, "replace "+sub.Name+" of the specified "+kind, "put", sub.GVK)
			o.query = writeParams
			o.body, o.consumes = subDef, consumesObject
			o.responses = resp(200, 201)
			rt.ops = append(rt.ops, o)
		}
		if has(sub.Verbs, "patch") {
			o := op("patch", "patch", suffix, "partially update "+sub.Name+" of the specified "+kind, "patch", sub.GVK)
			o.query = patchParams
			o.body, o.consumes = defPatch, consumesPatch
			o.responses = resp(200, 201)
			rt.ops = append(rt.ops, o)
		}
		if len(rt.ops) > 0 {
			routes = append(routes, rt)
		}
	}

	// Deprecated watch paths and the all-namespaces list.
	listParams := append(append([]param(nil), ps.list...), ps.pretty)
	if has(r.Verbs, "watch") {
		o := op("get", "watch", scope+kind+"List", "watch individual changes to a list of "+kind+". deprecated: use the 'watch' parameter with a list operation instead.", "watchlist", r.GVK)
		o.responses = []response{{200, "OK", defWatchEvent}}
		o.produces = producesList
		routes = append(routes, route{path: watchCollection, gv: gv, params: append(append([]param(nil), nsParams...), listParams...), ops: []operation{o}})
		o = op("get", "watch", scope+kind, "watch changes to an object of kind "+kind+". deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.", "watch", r.GVK)
		o.responses = []response{{200, "OK", defWatchEvent}}
		o.produces = producesList
		routes = append(routes, route{path: watchCollection + "/{name}", gv: gv, params: append(append([]param{nameParam(kind)}, nsParams...), listParams...), ops: []operation{o}})
	}
	if r.Namespaced {
		if has(r.Verbs, "list") {
			o := op("get", "list", kind+"ForAllNamespaces", "list or watch objects of kind "+kind, "list", r.GVK)
			o.responses = []response{{200, "OK", listDef}}
			o.produces = producesList
			routes = append(routes, route{path: base + "/" + r.Resource, gv: gv, params: listParams, ops: []operation{o}})
		}
		if has(r.Verbs, "watch") {
			o := op("get", "watch", kind+"ListForAllNamespaces", "watch individual changes to a list of "+kind+". deprecated: use the 'watch' parameter with a list operation instead.", "watchlist", r.GVK)
			o.responses = []response{{200, "OK", defWatchEvent}}
			o.produces = producesList
			routes = append(routes, route{path: base + "/watch/" + r.Resource, gv: gv, params: listParams, ops: []operation{o}})
		}
	}
	return routes
}

// article returns the indefinite article upstream uses before a kind.
func article(kind string) string {
	if kind != "" && strings.ContainsRune("AEIOU", rune(kind[0])) {
		return "an"
	}
	return "a"
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	}
	return ""
}
