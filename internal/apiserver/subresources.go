package apiserver

import (
	"fmt"
	"net/http"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/registry"
)

func metaAccessor(obj runtime.Object) (metav1.Object, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return acc, nil
}

// serveStatus serves GET/PUT/PATCH on the status subresource and PUT on
// namespaces/finalize.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	switch {
	case ri.Verb == "get" && ri.Subresource == "status":
		s.serveGet(w, r, sv, ri, ns)
	case ri.Verb == "update" && ri.Subresource == "status":
		s.serveReplace(w, r, sv, ri, ns, "status")
	case ri.Verb == "patch" && ri.Subresource == "status":
		s.servePatchSub(w, r, sv, ri, ns, "status")
	case ri.Verb == "update" && ri.Subresource == "finalize":
		s.serveReplace(w, r, sv, ri, ns, "finalize")
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Group: sv.res.Group, Resource: sv.res.Resource + "/" + ri.Subresource}, ri.Verb))
	}
}

var scaleGVK = schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}

func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	t, ok := s.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		s.writeError(w, r, s.notAcceptable())
		return
	}
	var (
		scale *autoscalingv1.Scale
		err   error
	)
	switch ri.Verb {
	case "get":
		var obj runtime.Object
		if obj, err = sv.rest.Get(r.Context(), ns, ri.Name); err == nil {
			scale, err = registry.ScaleOf(obj)
		}
	case "update", "patch":
		var dryRun bool
		var fv fieldValidation
		var body []byte
		if dryRun, err = parseDryRun(r); err == nil {
			if fv, err = parseFieldValidation(r); err == nil {
				body, err = s.readBody(w, r)
			}
		}
		if err != nil {
			break
		}
		var decode func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error)
		if ri.Verb == "update" {
			obj, derr := s.decodeBody(w, r, body, scaleGVK, &autoscalingv1.Scale{}, fv)
			if derr != nil {
				err = derr
				break
			}
			decode = func(*autoscalingv1.Scale) (*autoscalingv1.Scale, error) { return obj.(*autoscalingv1.Scale), nil }
		} else {
			pt, perr := s.patchType(r)
			if perr != nil {
				err = perr
				break
			}
			decode = func(cur *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
				out, err := s.applyPatch(w, pt, cur, body, scaleGVK, &autoscalingv1.Scale{}, fv)
				if err != nil {
					return nil, err
				}
				return out.(*autoscalingv1.Scale), nil
			}
		}
		scale, err = sv.rest.UpdateScale(r.Context(), ns, ri.Name, decode, dryRun)
	default:
		err = apierrors.NewMethodNotSupported(schema.GroupResource{Group: sv.res.Group, Resource: sv.res.Resource + "/scale"}, ri.Verb)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	scale.TypeMeta = metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"}
	s.writeObject(w, r, http.StatusOK, t, scale)
}

var bindingGVK = schema.GroupVersionKind{Version: "v1", Kind: "Binding"}

// createOnSubresource serves POST on a pod subresource whose body is
// another kind (Binding, Eviction): it decodes the body, checks that its
// name and namespace are the URL's, runs act and answers 201 Success.
func (s *Server) createOnSubresource(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ns string, gvk schema.GroupVersionKind, into runtime.Object, act func(obj runtime.Object, dryRun bool) error) {
	if ri.Verb != "create" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: ri.Resource + "/" + ri.Subresource}, ri.Verb))
		return
	}
	wr, err := s.readWrite(w, r, "create", "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, wr.body, gvk, into, fvWarn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acc, err := metaAccessor(obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if acc.GetNamespace() != "" && acc.GetNamespace() != ns {
		s.writeError(w, r, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	if acc.GetName() != ri.Name {
		s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in %s object", gvk.Kind)))
		return
	}
	if err := act(obj, wr.dryRun); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		t, _ = s.negotiate(mediaJSON, false)
	}
	s.writeObject(w, r, http.StatusCreated, t, &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess, Code: http.StatusCreated})
}

// serveBinding assigns a pod to a node (POST pods/<name>/binding).
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	s.createOnSubresource(w, r, ri, ns, bindingGVK, &corev1.Binding{}, func(obj runtime.Object, dryRun bool) error {
		return sv.rest.Bind(r.Context(), ns, obj.(*corev1.Binding), dryRun)
	})
}

var evictionGVK = schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}

// serveEviction deletes a pod through the eviction subresource, refusing
// with 429 when a PodDisruptionBudget allows no disruption.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	s.createOnSubresource(w, r, ri, ns, evictionGVK, &policyv1.Eviction{}, func(obj runtime.Object, dryRun bool) error {
		if err := s.checkDisruptionBudgets(r, sv, ns, ri.Name); err != nil {
			return err
		}
		opts := obj.(*policyv1.Eviction).DeleteOptions
		if opts == nil {
			opts = &metav1.DeleteOptions{}
		}
		_, _, err := sv.rest.Delete(r.Context(), ns, ri.Name, opts, dryRun)
		return err
	})
}
