package apiserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"kplane/internal/registry"
)

// errPathNotFound is upstream's answer for a path nothing serves.
func errPathNotFound() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
		Message: "the server could not find the requested resource", Details: &metav1.StatusDetails{},
	}}
}

// serveAPI routes /api and /apis requests to discovery or a resource verb.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	ri := infoFrom(r.Context())
	if !ri.IsResourceRequest {
		s.serveDiscovery(w, r, ri)
		return
	}
	sv, ok := s.resources[ri.APIGroup+"/"+ri.APIVersion+"/"+ri.Resource]
	if !ok || len(ri.Parts) > 3 {
		s.writeError(w, r, errPathNotFound())
		return
	}
	if sv.create != nil {
		s.serveVirtualCreate(w, r, sv, ri, ri.Namespace)
		return
	}
	if sv.res.Group == metricsGroup {
		s.serveMetrics(w, r, sv, ri)
		return
	}
	if ri.Subresource != "" && !sv.res.HasSubresource(ri.Subresource) {
		s.writeError(w, r, errPathNotFound())
		return
	}
	if sv.res.Namespaced && ri.Namespace == "" && ri.Verb != "list" && ri.Verb != "watch" {
		s.writeError(w, r, errPathNotFound())
		return
	}
	if !sv.res.Namespaced && ri.Namespace != "" && ri.Resource != "namespaces" {
		s.writeError(w, r, errPathNotFound())
		return
	}
	ns := ri.Namespace
	if !sv.res.Namespaced {
		ns = ""
	}
	switch ri.Subresource {
	case "":
	case "status", "finalize":
		s.serveStatus(w, r, sv, ri, ns)
		return
	case "scale":
		s.serveScale(w, r, sv, ri, ns)
		return
	case "binding":
		s.serveBinding(w, r, sv, ri, ns)
		return
	case "eviction":
		s.serveEviction(w, r, sv, ri, ns)
		return
	case "token":
		s.serveToken(w, r, sv, ri, ns)
		return
	}
	if ri.Verb != "get" && ri.Verb != "list" && ri.Verb != "watch" && !sv.res.HasVerb(ri.Verb) {
		s.writeError(w, r, apierrors.NewMethodNotSupported(sv.res.QualifiedResource(), ri.Verb))
		return
	}
	switch ri.Verb {
	case "get":
		s.serveGet(w, r, sv, ri, ns)
	case "list":
		s.serveList(w, r, sv, ri, ns)
	case "watch":
		s.serveWatch(w, r, sv, ri, ns)
	case "create":
		if ri.Name != "" {
			s.writeError(w, r, apierrors.NewMethodNotSupported(sv.res.QualifiedResource(), "create"))
			return
		}
		s.serveCreate(w, r, sv, ns)
	case "update", "patch":
		if ri.Name == "" {
			// PUT and PATCH need a named object, as upstream (405).
			s.writeError(w, r, apierrors.NewMethodNotSupported(sv.res.QualifiedResource(), ri.Verb))
			return
		}
		if ri.Verb == "update" {
			s.serveUpdate(w, r, sv, ri, ns)
		} else {
			s.servePatch(w, r, sv, ri, ns)
		}
	case "delete":
		s.serveDelete(w, r, sv, ri, ns)
	case "deletecollection":
		s.serveDeleteCollection(w, r, sv, ri, ns)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(sv.res.QualifiedResource(), ri.Verb))
	}
}

// readBody reads at most the configured limit (413 above it).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", s.cfg.MaxRequestBodyBytes))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	return data, nil
}

// writeRequest is what every write reads before it acts: its options and
// body.
type writeRequest struct {
	dryRun bool
	fv     fieldValidation
	owner  writeOwner
	body   []byte
}

// readWrite parses dryRun, fieldValidation and fieldManager/force (for verb
// create, update or patch of type pt) and reads the body.
func (s *Server) readWrite(w http.ResponseWriter, r *http.Request, verb string, pt types.PatchType) (*writeRequest, error) {
	wr := &writeRequest{}
	var err error
	if wr.dryRun, err = parseDryRun(r); err != nil {
		return nil, err
	}
	if wr.fv, err = parseFieldValidation(r); err != nil {
		return nil, err
	}
	if wr.owner, err = parseWriteOwner(r, verb, pt); err != nil {
		return nil, err
	}
	if wr.body, err = s.readBody(w, r); err != nil {
		return nil, err
	}
	return wr, nil
}

// decodeStored decodes a write's body as the served kind and converts it
// to the storage version.
func (s *Server) decodeStored(w http.ResponseWriter, r *http.Request, sv *served, wr *writeRequest) (runtime.Object, error) {
	obj, err := s.decodeBody(w, r, wr.body, sv.res.GVK(), sv.res.New(), wr.fv)
	if err != nil {
		return nil, err
	}
	return fromServed(sv, obj)
}

// fieldValidation is the request's fieldValidation directive.
type fieldValidation string

const (
	fvIgnore fieldValidation = "Ignore"
	fvWarn   fieldValidation = "Warn"
	fvStrict fieldValidation = "Strict"
)

func parseFieldValidation(r *http.Request) (fieldValidation, error) {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "", "Warn":
		return fvWarn, nil
	case "Ignore":
		return fvIgnore, nil
	case "Strict":
		return fvStrict, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %v", v))
	}
}

func parseDryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != "All" {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun: [%s] supported values: \"All\"", v))
		}
	}
	return len(vals) > 0, nil
}

// decodeBody decodes a request body of the served kind (or of want, for
// subresource bodies such as Scale and Binding) in JSON, YAML or protobuf.
// Unknown fields are an error in Strict mode and a warning in Warn mode.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, data []byte, want schema.GroupVersionKind, into runtime.Object, fv fieldValidation) (runtime.Object, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = mediaJSON
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, s.unsupportedMediaType(ct)
	}
	if len(data) == 0 {
		return nil, apierrors.NewBadRequest("request body is empty")
	}
	switch mt {
	case mediaYAML:
		jsonData, err := yaml.YAMLToJSONStrict(data)
		if err != nil {
			if jsonData, err = yaml.YAMLToJSON(data); err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("yaml: %v", err))
			}
			if fv == fvStrict {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("strict decoding error: %v", err))
			}
		}
		data, mt = jsonData, mediaJSON
	case mediaJSON, mediaProtobuf:
	default:
		return nil, s.unsupportedMediaType(ct)
	}
	if mt == mediaJSON {
		gvk, err := json.DefaultMetaFactory.Interpret(data)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", want.Kind, want.Version, want.Kind, err))
		}
		if err := checkGVK(*gvk, want); err != nil {
			return nil, err
		}
	}
	info, _ := s.serializerFor(mt)
	dec := info.Serializer
	if mt == mediaJSON && fv != fvIgnore && info.StrictSerializer != nil {
		dec = info.StrictSerializer
	}
	obj, gvk, err := dec.Decode(data, &want, into)
	if serr, handled := strictDecodeResult(w, err, fv); handled {
		if serr != nil {
			// Create and update bodies get upstream's transformDecodeError
			// prefix; patches report the bare strict decoding error.
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", want.Kind, want.Version, want.Kind, err))
		}
	} else if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", want.Kind, want.Version, want.Kind, err))
	}
	if gvk != nil {
		if err := checkGVK(*gvk, want); err != nil {
			return nil, err
		}
	}
	if reflect.TypeOf(obj) != reflect.TypeOf(into) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s", gvk.Kind, gvk.Version, want.Kind))
	}
	return obj, nil
}

// strictDecodeResult handles unknown and duplicate fields: a 400 in
// Strict mode, Warning headers in Warn mode. handled reports that err was
// a strict decoding error (the object itself decoded fine).
func strictDecodeResult(w http.ResponseWriter, err error, fv fieldValidation) (error, bool) {
	se, ok := runtime.AsStrictDecodingError(err)
	if err == nil || !ok {
		return nil, false
	}
	if fv == fvStrict {
		return apierrors.NewBadRequest(err.Error()), true
	}
	for _, e := range se.Errors() {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", e.Error()))
	}
	return nil, true
}

func checkGVK(got, want schema.GroupVersionKind) error {
	if got.Version != "" || got.Group != "" {
		if got.GroupVersion() != want.GroupVersion() {
			return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), want.GroupVersion()))
		}
	}
	if got.Kind != "" && got.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: no kind %q is registered for version %q", got.Kind, got.Version, want.Kind, got.Kind, got.GroupVersion()))
	}
	return nil
}

func (s *Server) unsupportedMediaType(ct string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s", strings.Join(s.supportedMediaTypes(), ", ")),
	}}
}

// toServed converts a stored object to the served version with TypeMeta.
func toServed(sv *served, obj runtime.Object) (runtime.Object, error) {
	out, err := sv.res.ToServed(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("convert to %s: %w", sv.res.GVK(), err))
	}
	out.GetObjectKind().SetGroupVersionKind(sv.res.GVK())
	return out, nil
}

// fromServed converts a decoded request object to the storage version.
func fromServed(sv *served, obj runtime.Object) (runtime.Object, error) {
	out, err := sv.res.ToStored(obj)
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			return nil, err
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("convert %s: %v", sv.res.GVK(), err))
	}
	return out, nil
}

// respond writes a stored object in the served version and the client's
// format (including Table and PartialObjectMetadata).
func (s *Server) respond(w http.ResponseWriter, r *http.Request, sv *served, code int, obj runtime.Object) {
	t, ok := s.negotiate(r.Header.Get("Accept"), true)
	if !ok {
		s.writeError(w, r, s.notAcceptable())
		return
	}
	out, err := toServed(sv, obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.as != "" {
		tr, err := s.transform(r, sv, t, []runtime.Object{obj}, nil, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, code, t, tr)
		return
	}
	s.writeObject(w, r, code, t, out)
}

func (s *Server) notAcceptable() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusNotAcceptable, Reason: metav1.StatusReasonNotAcceptable,
		Message: fmt.Sprintf("only the following media types are accepted: %s", strings.Join(s.supportedMediaTypes(), ", ")),
	}}
}

// listMeta is the page information of a list response.
type listMeta struct {
	rv        string
	cont      string
	remaining *int64
}

// newServedList builds the served list kind around served items.
func newServedList(sv *served, items []runtime.Object, lm listMeta) (runtime.Object, error) {
	list := sv.res.NewList()
	out := make([]runtime.Object, 0, len(items))
	for _, it := range items {
		o, err := sv.res.ToServed(it)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		// Items may be shared with the watch cache: write only when needed
		// (cached objects carry no TypeMeta).
		if !o.GetObjectKind().GroupVersionKind().Empty() {
			o.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
		}
		out = append(out, o)
	}
	if err := meta.SetList(list, out); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la, err := meta.ListAccessor(list)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	la.SetResourceVersion(lm.rv)
	la.SetContinue(lm.cont)
	la.SetRemainingItemCount(lm.remaining)
	list.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{Group: sv.res.Group, Version: sv.res.Version, Kind: sv.res.ListKind})
	return list, nil
}

var _ = registry.AllVerbs
