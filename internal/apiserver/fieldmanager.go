package apiserver

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/applyconfigurations"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"kplane/internal/registry"
)

// fieldManagers are the server-side apply machinery of one served
// resource: one manager for the main resource and one for its status
// subresource, each recording entries under its own subresource name as
// upstream does. A nil *fieldManagers (kinds without a schema, virtual
// resources) means managedFields are not tracked.
type fieldManagers struct {
	// types converts objects to the schema's typed values.
	types managedfields.TypeConverter
	main  *managedfields.FieldManager
	// skipUpdates turns off managedFields entries for non-apply writes
	// (Config.DisableUpdateManagedFields).
	skipUpdates bool
	status      *managedfields.FieldManager
	// newServed makes an empty object of the served kind with TypeMeta set,
	// the live object of a create.
	newServed func() runtime.Object
}

// forSub returns the manager of a subresource ("" is the main resource),
// nil when that subresource does not track managedFields (scale, binding,
// finalize, eviction).
func (f *fieldManagers) forSub(sub string) *managedfields.FieldManager {
	if f == nil {
		return nil
	}
	switch sub {
	case "":
		return f.main
	case "status":
		return f.status
	}
	return nil
}

// buildFieldManagers gives every served storage resource its field managers.
// The schema is client-go's compiled-in one for the built-in types; a kind
// it does not describe is served without managedFields (and apply falls back
// to a merge). The first conversion parses that schema (~200ms), so it is
// paid here at start-up rather than by the first write.
func (s *Server) buildFieldManagers() error {
	tc := applyconfigurations.NewTypeConverter(s.scheme)
	conv := newServedConverter(s.scheme, s.resources)
	for _, sv := range s.resources {
		if sv.rest == nil {
			continue
		}
		gvk := sv.res.GVK()
		probe := conv.newServed(sv.res)
		if _, err := tc.ObjectToTyped(probe); err != nil {
			s.log.Debug("no server-side apply schema; managedFields not tracked", "kind", gvk.String(), "err", err)
			continue
		}
		fm := &fieldManagers{types: tc, newServed: func() runtime.Object { return conv.newServed(sv.res) }, skipUpdates: s.cfg.DisableUpdateManagedFields}
		gv := fieldpath.APIVersion(gvk.GroupVersion().String())
		var mainReset map[fieldpath.APIVersion]fieldpath.Filter
		if sv.res.HasStatus {
			// The main resource keeps the stored status (registry
			// prepareUpdate), so nobody owns status through it.
			mainReset = map[fieldpath.APIVersion]fieldpath.Filter{gv: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(
				fieldpath.MakePathOrDie("status"),
			))}
		}
		var err error
		fm.main, err = managedfields.NewDefaultFieldManager(tc, conv, conv, conv, gvk, gvk.GroupVersion(), "", mainReset)
		if err != nil {
			return fmt.Errorf("field manager for %s: %w", gvk, err)
		}
		if sv.res.HasStatus {
			// The status subresource keeps the stored spec and the metadata
			// metav1.ResetObjectMetaForStatus restores.
			statusReset := map[fieldpath.APIVersion]fieldpath.Filter{gv: fieldpath.NewExcludeSetFilter(fieldpath.NewSet(
				fieldpath.MakePathOrDie("spec"),
				fieldpath.MakePathOrDie("metadata", "labels"),
				fieldpath.MakePathOrDie("metadata", "annotations"),
				fieldpath.MakePathOrDie("metadata", "finalizers"),
				fieldpath.MakePathOrDie("metadata", "ownerReferences"),
			))}
			fm.status, err = managedfields.NewDefaultFieldManager(tc, conv, conv, conv, gvk, gvk.GroupVersion(), "status", statusReset)
			if err != nil {
				return fmt.Errorf("status field manager for %s: %w", gvk, err)
			}
		}
		sv.fields = fm
	}
	return nil
}

// servedConverter converts between the served versions of one storage kind
// through the registry's storage conversions (autoscaling/v1 and v2 HPAs,
// core and events.k8s.io events); every other kind has one version, so
// conversion is the identity. It is also the defaulter (the kind's
// registry defaulting, upstream's scheme defaulting) and the creater the
// field managers need. The hub of each manager is its served version.
type servedConverter struct {
	scheme *runtime.Scheme
	// byGVK indexes served resources by served kind.
	byGVK map[schema.GroupVersionKind]*registry.Resource
}

var (
	_ runtime.ObjectConvertor = (*servedConverter)(nil)
	_ runtime.ObjectDefaulter = (*servedConverter)(nil)
	_ runtime.ObjectCreater   = (*servedConverter)(nil)
)

func newServedConverter(scheme *runtime.Scheme, resources map[string]*served) *servedConverter {
	c := &servedConverter{scheme: scheme, byGVK: map[schema.GroupVersionKind]*registry.Resource{}}
	for _, sv := range resources {
		if sv.rest != nil {
			c.byGVK[sv.res.GVK()] = sv.res
		}
	}
	return c
}

func (c *servedConverter) newServed(res *registry.Resource) runtime.Object {
	obj := res.New()
	obj.GetObjectKind().SetGroupVersionKind(res.GVK())
	return obj
}

// New implements runtime.ObjectCreater.
func (c *servedConverter) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	if res, ok := c.byGVK[gvk]; ok {
		return c.newServed(res), nil
	}
	return nil, runtime.NewNotRegisteredErrForKind("kplane", gvk)
}

// kindOf finds the served kind of a typed object from its Go type, which is
// unambiguous for every served kind.
func (c *servedConverter) kindOf(obj runtime.Object) (schema.GroupVersionKind, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.GroupVersionKind(), nil
	}
	gvks, _, err := c.scheme.ObjectKinds(obj)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	want := obj.GetObjectKind().GroupVersionKind()
	for _, g := range gvks {
		if g == want {
			return g, nil
		}
	}
	return gvks[0], nil
}

// ConvertToVersion implements runtime.ObjectConvertor for the targets the
// field managers ask for (a schema.GroupVersion).
func (c *servedConverter) ConvertToVersion(in runtime.Object, target runtime.GroupVersioner) (runtime.Object, error) {
	from, err := c.kindOf(in)
	if err != nil {
		return nil, err
	}
	src, ok := c.byGVK[from]
	if !ok {
		return nil, runtime.NewNotRegisteredErrForKind("kplane", from)
	}
	obj := in
	if u, ok := in.(*unstructured.Unstructured); ok {
		obj = src.New()
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), obj); err != nil {
			return nil, fmt.Errorf("convert %s from unstructured: %w", from, err)
		}
	}
	// Events move between groups (core and events.k8s.io), which
	// GroupVersion.KindForGroupVersionKinds does not allow, so a
	// GroupVersion target is taken as it is.
	gv, ok := target.(schema.GroupVersion)
	if !ok {
		gvk, found := target.KindForGroupVersionKinds([]schema.GroupVersionKind{from})
		if !found {
			return nil, runtime.NewNotRegisteredErrForTarget("kplane", reflect.TypeOf(in), target)
		}
		gv = gvk.GroupVersion()
	}
	if gv == from.GroupVersion() {
		obj.GetObjectKind().SetGroupVersionKind(from)
		return obj, nil
	}
	dst := c.sibling(src, gv)
	if dst == nil {
		return nil, runtime.NewNotRegisteredErrForKind("kplane", gv.WithKind(from.Kind))
	}
	stored, err := src.ToStored(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %s to storage: %w", from, err)
	}
	out, err := dst.ToServed(stored)
	if err != nil {
		return nil, fmt.Errorf("convert to %s: %w", dst.GVK(), err)
	}
	out.GetObjectKind().SetGroupVersionKind(dst.GVK())
	return out, nil
}

// sibling is the resource of version gv that shares src's storage kind.
func (c *servedConverter) sibling(src *registry.Resource, gv schema.GroupVersion) *registry.Resource {
	for gvk, res := range c.byGVK {
		if gvk.GroupVersion() == gv && res.StorageKind == src.StorageKind {
			return res
		}
	}
	return nil
}

// Convert implements runtime.ObjectConvertor; the field managers do not use it.
func (c *servedConverter) Convert(in, out, context interface{}) error {
	return c.scheme.Convert(in, out, context)
}

// ConvertFieldLabel implements runtime.ObjectConvertor; the field managers
// do not use it.
func (c *servedConverter) ConvertFieldLabel(gvk schema.GroupVersionKind, label, value string) (string, string, error) {
	return c.scheme.ConvertFieldLabel(gvk, label, value)
}

// Default implements runtime.ObjectDefaulter with the kind's registry
// defaulting, which runs on the storage version, so that an applied partial
// configuration ends up with the same defaults a create would give it.
func (c *servedConverter) Default(obj runtime.Object) {
	from, err := c.kindOf(obj)
	if err != nil {
		return
	}
	res, ok := c.byGVK[from]
	if !ok || res.Strategy.Default == nil {
		return
	}
	defaultStored(res, obj)
}

// defaultStored runs res's defaulting on a served-version object in place.
func defaultStored(res *registry.Resource, obj runtime.Object) {
	if res.ToStorage == nil {
		res.Strategy.Default(obj)
		return
	}
	stored, err := res.ToStored(obj)
	if err != nil {
		return
	}
	res.Strategy.Default(stored)
	back, err := res.ToServed(stored)
	if err != nil {
		return
	}
	dst, src := reflect.ValueOf(obj), reflect.ValueOf(back)
	if dst.Kind() == reflect.Pointer && src.Type() == dst.Type() {
		dst.Elem().Set(src.Elem())
	}
}

// writeOwner is who a write records in managedFields.
type writeOwner struct {
	// manager is the fieldManager parameter or, for non-apply writes
	// without one, the User-Agent prefix (upstream's managerOrUserAgent).
	manager string
	// force is the apply force parameter.
	force bool
}

// parseWriteOwner validates fieldManager (and force for patches) as
// upstream's ValidateCreateOptions/ValidateUpdateOptions/ValidatePatchOptions
// do: verb is "create", "update" or "patch"; pt is the patch type.
func parseWriteOwner(r *http.Request, verb string, pt types.PatchType) (writeOwner, error) {
	q := r.URL.Query()
	fm := q.Get("fieldManager")
	var (
		errs field.ErrorList
		kind string
		own  = writeOwner{manager: fm}
	)
	switch verb {
	case "create":
		kind = "CreateOptions"
		errs = metav1validation.ValidateCreateOptions(&metav1.CreateOptions{FieldManager: fm})
	case "update":
		kind = "UpdateOptions"
		errs = metav1validation.ValidateUpdateOptions(&metav1.UpdateOptions{FieldManager: fm})
	default:
		kind = "PatchOptions"
		opts := &metav1.PatchOptions{FieldManager: fm}
		if vals, ok := q["force"]; ok && len(vals) > 0 {
			b, err := strconv.ParseBool(vals[0])
			if err != nil {
				return writeOwner{}, apierrors.NewBadRequest(fmt.Sprintf("invalid force %q: %v", vals[0], err))
			}
			opts.Force = &b
			own.force = b
		}
		errs = metav1validation.ValidatePatchOptions(opts, pt)
	}
	if len(errs) > 0 {
		return writeOwner{}, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs)
	}
	if own.manager == "" {
		own.manager = prefixFromUserAgent(r.UserAgent())
	}
	return own, nil
}

// prefixFromUserAgent is the part of a User-Agent before the first "/",
// without unprintable characters and cut to the longest valid manager name,
// as upstream derives a manager for writes that name none.
func prefixFromUserAgent(ua string) string {
	m, _, _ := strings.Cut(ua, "/")
	var buf bytes.Buffer
	for _, r := range m {
		if !unicode.IsPrint(r) {
			continue
		}
		if buf.Len()+utf8.RuneLen(r) > metav1validation.FieldManagerMaxLength {
			break
		}
		buf.WriteRune(r)
	}
	return buf.String()
}

// trackCreate records the creating manager's fields in a new object
// (storage version). Defaulting runs first, as upstream's decoding does, so
// the creator owns the defaulted fields too; the registry's second
// defaulting pass is then a no-op.
func trackCreate(sv *served, obj runtime.Object, manager string) (runtime.Object, error) {
	return trackUpdate(sv, "", nil, obj, manager)
}

// trackUpdate records manager's changes from live (storage version, nil on
// create) to obj (storage version) in obj's managedFields. Errors inside the
// field manager keep the live managedFields, as upstream's UpdateNoErrors.
func trackUpdate(sv *served, sub string, live, obj runtime.Object, manager string) (runtime.Object, error) {
	fm := sv.fields.forSub(sub)
	if fm == nil || sv.fields.skipUpdates {
		return obj, nil
	}
	if sub == "" && sv.res.Strategy.Default != nil {
		sv.res.Strategy.Default(obj)
	}
	var liveServed runtime.Object
	if live == nil {
		liveServed = sv.fields.newServed()
	} else {
		var err error
		if liveServed, err = toServed(sv, live); err != nil {
			return nil, err
		}
	}
	newServed, err := toServed(sv, obj)
	if err != nil {
		return nil, err
	}
	if sub == "status" {
		// Status writes are the hot path (kubelets, controllers) and the
		// status manager ignores spec anyway, so it compares views without
		// spec: about half the cost for a pod, same entries.
		view := fm.UpdateNoErrors(statusView(liveServed), statusView(newServed), manager)
		vacc, err := metaAccessor(view)
		if err != nil {
			return nil, err
		}
		nacc, err := metaAccessor(newServed)
		if err != nil {
			return nil, err
		}
		nacc.SetManagedFields(vacc.GetManagedFields())
		return fromServed(sv, newServed)
	}
	return fromServed(sv, fm.UpdateNoErrors(liveServed, newServed, manager))
}

// statusView is a shallow copy of a typed object with only its TypeMeta,
// ObjectMeta and Status; the field managers do not modify their inputs
// beyond the copy's managedFields.
func statusView(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return obj
	}
	out := reflect.New(v.Elem().Type())
	for _, name := range []string{"TypeMeta", "ObjectMeta", "Status"} {
		if f := v.Elem().FieldByName(name); f.IsValid() {
			out.Elem().FieldByName(name).Set(f)
		}
	}
	view, ok := out.Interface().(runtime.Object)
	if !ok {
		return obj
	}
	return view
}

// serverSideApply merges an apply configuration into the live object (nil
// when absent) with field ownership: conflicts with other managers are a
// 409 with FieldManagerConflict causes unless owner.force. The result is in
// the storage version.
func serverSideApply(w http.ResponseWriter, sv *served, sub string, live runtime.Object, patch []byte, owner writeOwner, fv fieldValidation) (runtime.Object, error) {
	fm := sv.fields.forSub(sub)
	var liveServed runtime.Object
	if live == nil {
		liveServed = sv.fields.newServed()
	} else {
		var err error
		if liveServed, err = toServed(sv, live.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	applied := &unstructured.Unstructured{Object: map[string]interface{}{}}
	if err := utilyaml.Unmarshal(patch, &applied.Object); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	if err := checkAppliedSchema(sv, applied); err != nil {
		return nil, err
	}
	out, err := fm.Apply(liveServed, applied, owner.manager, owner.force)
	if err != nil {
		return nil, applyError(err)
	}
	if fv == fvStrict || fv == fvWarn {
		if err := utilyaml.UnmarshalStrict(patch, &map[string]interface{}{}); err != nil {
			if fv == fvStrict {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("error strict decoding YAML: %v", err))
			}
			w.Header().Add("Warning", fmt.Sprintf("299 - %q", err.Error()))
		}
	}
	if live == nil {
		if acc, err := metaAccessor(out); err == nil && acc.GetUID() != "" {
			return nil, apierrors.NewConflict(sv.res.QualifiedResource(), acc.GetName(),
				fmt.Errorf("uid mismatch: the provided object specified uid %s, and no existing object was found", acc.GetUID()))
		}
	}
	return fromServed(sv, out)
}

// checkAppliedSchema rejects an apply configuration of the served kind that
// the schema cannot type (an undeclared field, a wrong type) with a 400.
// Upstream v1.37 answers these with a 500 (kubernetes/kubernetes#139253, a
// fix in review makes it a 400 with the same message); kplane keeps client
// mistakes out of the 5xx range. Other kinds are left to the field
// manager's own version check.
func checkAppliedSchema(sv *served, applied *unstructured.Unstructured) error {
	if applied.GroupVersionKind() != sv.res.GVK() {
		return nil
	}
	if _, err := sv.fields.types.ObjectToTyped(applied); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("failed to create typed patch object (%s/%s; %s): %v",
			applied.GetNamespace(), applied.GetName(), applied.GroupVersionKind(), err))
	}
	return nil
}

// applyError gives errors of the field manager that are not API errors
// (an applied field the schema does not declare, say) upstream's answer:
// a 500 with the error's message and no reason.
func applyError(err error) error {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return err
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: err.Error(),
	}}
}
