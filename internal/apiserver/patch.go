package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch/v5"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"kplane/internal/cacher"
	"kplane/internal/registry"
)

// maxJSONPatchOperations bounds the work one JSON patch can ask for, as
// upstream does.
const maxJSONPatchOperations = 10000

// patchType reads the Content-Type of a PATCH request (415 when unknown).
func (s *Server) patchType(r *http.Request) (types.PatchType, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", s.unsupportedPatch(r.Header.Get("Content-Type"))
	}
	switch pt := types.PatchType(mt); pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType:
		return pt, nil
	}
	return "", s.unsupportedPatch(mt)
}

func (s *Server) unsupportedPatch(ct string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s, %s",
			types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType),
	}}
}

// applyPatch applies patch to the JSON of the current object and decodes
// the result as want (a fresh object of the served type).
func (s *Server) applyPatch(w http.ResponseWriter, pt types.PatchType, current runtime.Object, patch []byte, want schema.GroupVersionKind, into runtime.Object, fv fieldValidation) (runtime.Object, error) {
	var buf bytes.Buffer
	current.GetObjectKind().SetGroupVersionKind(want)
	if err := s.jsonSerializer.Encode(current, &buf); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("encode current object: %w", err))
	}
	curJSON := buf.Bytes()
	var patched []byte
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if len(p) > maxJSONPatchOperations {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("The allowed maximum operations in a JSON patch is %d, got %d", maxJSONPatchOperations, len(p)))
		}
		patched, err = p.Apply(curJSON)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
	case types.MergePatchType:
		var err error
		patched, err = jsonpatch.MergePatch(curJSON, patch)
		if err != nil {
			if errors.Is(err, jsonpatch.ErrBadJSONPatch) || errors.Is(err, jsonpatch.ErrBadJSONDoc) {
				return nil, apierrors.NewBadRequest(err.Error())
			}
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
	case types.StrategicMergePatchType:
		var err error
		patched, err = strategicpatch.StrategicMergePatch(curJSON, patch, into)
		if err != nil {
			switch {
			case errors.Is(err, mergepatch.ErrBadJSONDoc), errors.Is(err, mergepatch.ErrBadPatchFormatForPrimitiveList),
				errors.Is(err, mergepatch.ErrBadPatchFormatForRetainKeys), errors.Is(err, mergepatch.ErrBadPatchFormatForSetElementOrderList),
				errors.Is(err, mergepatch.ErrUnsupportedStrategicMergePatchFormat):
				return nil, apierrors.NewBadRequest(err.Error())
			}
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
	case types.ApplyYAMLPatchType:
		// Apply where no field manager serves it (the scale subresource,
		// kinds without a schema): the applied configuration is merged
		// over the live object like a strategic merge patch, without
		// ownership or conflicts. Everything else goes to serverSideApply.
		j, err := yaml.YAMLToJSON(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
		}
		patched, err = strategicpatch.StrategicMergePatch(curJSON, j, into)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	}
	obj, err := s.decodePatched(w, pt, patch, patched, want, into, fv)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// decodePatched decodes the patched JSON. In Strict mode a strategic
// merge patch with unknown fields is a 422 on field "patch", as upstream's
// applyPatchToObject reports it; other patch types get a 400.
func (s *Server) decodePatched(w http.ResponseWriter, pt types.PatchType, patch, data []byte, want schema.GroupVersionKind, into runtime.Object, fv fieldValidation) (runtime.Object, error) {
	info, _ := s.serializerFor(mediaJSON)
	dec := info.Serializer
	if fv != fvIgnore && info.StrictSerializer != nil {
		dec = info.StrictSerializer
	}
	obj, gvk, err := dec.Decode(data, &want, into)
	if pt == types.StrategicMergePatchType && fv == fvStrict && runtime.IsStrictDecodingError(err) {
		var patchMap map[string]interface{}
		_ = json.Unmarshal(patch, &patchMap)
		return nil, apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{
			field.Invalid(field.NewPath("patch"), fmt.Sprintf("%+v", patchMap), err.Error())})
	}
	if serr, handled := strictDecodeResult(w, err, fv); handled {
		if serr != nil {
			return nil, serr
		}
	} else if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", want.Kind, want.Version, want.Kind, err))
	}
	if gvk != nil {
		if err := checkGVK(*gvk, want); err != nil {
			return nil, err
		}
	}
	return obj, nil
}

// servePatch is PATCH on the main resource or the status subresource.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	s.servePatchSub(w, r, sv, ri, ns, "")
}

func (s *Server) servePatchSub(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns, sub string) {
	pt, err := s.patchType(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	wr, err := s.readWrite(w, r, "patch", pt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	patch, fv, owner, dryRun := wr.body, wr.fv, wr.owner, wr.dryRun
	out, created, err := sv.rest.Update(r.Context(), ns, ri.Name, sub, func(cur runtime.Object) (runtime.Object, error) {
		if pt == types.ApplyYAMLPatchType && sv.fields.forSub(sub) != nil {
			return serverSideApply(w, sv, sub, cur, patch, owner, fv)
		}
		if cur == nil {
			if pt != types.ApplyYAMLPatchType {
				return nil, apierrors.NewNotFound(sv.res.QualifiedResource(), ri.Name)
			}
			cur = sv.res.New()
			if err := s.setNameNamespace(cur, ri.Name, ns); err != nil {
				return nil, err
			}
			served, err := s.applyPatch(w, pt, cur, patch, sv.res.GVK(), sv.res.New(), fv)
			if err != nil {
				return nil, err
			}
			return fromServed(sv, served)
		}
		// cur stays the old object for field tracking and the registry;
		// the patch only stamps the served kind on its copy and encodes it.
		curServed, err := toServed(sv, cacher.ShallowCopy(cur))
		if err != nil {
			return nil, err
		}
		served, err := s.applyPatch(w, pt, curServed, patch, sv.res.GVK(), sv.res.New(), fv)
		if err != nil {
			return nil, err
		}
		stored, err := fromServed(sv, served)
		if err != nil {
			return nil, err
		}
		return trackUpdate(sv, sub, cur, stored, owner.manager)
	}, registry.UpdateOptions{DryRun: dryRun, ForceAllowCreate: pt == types.ApplyYAMLPatchType})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.respond(w, r, sv, code, out)
}

func (s *Server) setNameNamespace(obj runtime.Object, name, ns string) error {
	acc, err := metaAccessor(obj)
	if err != nil {
		return err
	}
	acc.SetName(name)
	acc.SetNamespace(ns)
	return nil
}
