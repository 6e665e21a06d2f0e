package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/cacher"
	"kplane/internal/storage"
)

// REST performs the verbs of one storage resource with upstream semantics.
type REST struct {
	Res   *Resource
	store *storage.Store
	adm   *Admission
	now   func() time.Time
	// fieldKeys are the field selector keys the kind supports.
	fieldKeys map[string]bool
	// cache, when set, serves lists and watches (see SetCache).
	cache *cacher.Cacher
}

// NewREST binds a resource to its store. adm may be nil (no admission).
func NewREST(res *Resource, store *storage.Store, adm *Admission) *REST {
	r := &REST{Res: res, store: store, adm: adm, now: time.Now}
	r.fieldKeys = map[string]bool{"metadata.name": true}
	if res.Namespaced {
		r.fieldKeys["metadata.namespace"] = true
	}
	if res.Strategy.Fields != nil {
		if zero, err := res.toStorage(res.New()); err == nil {
			for k := range res.Strategy.Fields(zero) {
				r.fieldKeys[k] = true
			}
		}
	}
	return r
}

// Key is the etcd key of an object.
func (r *REST) Key(ns, name string) string {
	if r.Res.Namespaced {
		return "/registry/" + r.Res.StoragePath + "/" + ns + "/" + name
	}
	return "/registry/" + r.Res.StoragePath + "/" + name
}

// Prefix is the etcd key prefix of a namespace's objects ("" for all).
func (r *REST) Prefix(ns string) string {
	if r.Res.Namespaced && ns != "" {
		return "/registry/" + r.Res.StoragePath + "/" + ns + "/"
	}
	return "/registry/" + r.Res.StoragePath + "/"
}

func (r *REST) gr() schema.GroupResource { return r.Res.QualifiedResource() }

func (r *REST) typ() string { return r.Res.StorageKind.Kind }

// Get returns one object.
func (r *REST) Get(ctx context.Context, ns, name string) (runtime.Object, error) {
	obj, err := r.store.Get(ctx, r.Key(ns, name), r.typ())
	return obj, interpretStorageError(err, r.gr(), name)
}

// Selection narrows lists and watches.
type Selection struct {
	Labels labels.Selector
	Fields fields.Selector
}

// Predicate validates field selector keys and builds the storage predicate
// (nil when everything matches).
func (r *REST) Predicate(sel Selection) (storage.Predicate, error) {
	lsel, fsel := sel.Labels, sel.Fields
	if lsel != nil && lsel.Empty() {
		lsel = nil
	}
	if fsel != nil && fsel.Empty() {
		fsel = nil
	}
	if fsel != nil {
		for _, req := range fsel.Requirements() {
			if !r.fieldKeys[req.Field] {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
	}
	if lsel == nil && fsel == nil {
		return nil, nil
	}
	return func(obj runtime.Object) bool {
		acc, err := meta.Accessor(obj)
		if err != nil {
			return false
		}
		if lsel != nil && !lsel.Matches(labels.Set(acc.GetLabels())) {
			return false
		}
		if fsel != nil && !fsel.Matches(r.fieldSet(obj, acc)) {
			return false
		}
		return true
	}, nil
}

func (r *REST) fieldSet(obj runtime.Object, acc metav1.Object) fields.Set {
	var set fields.Set
	if r.Res.Strategy.Fields != nil {
		set = r.Res.Strategy.Fields(obj)
	}
	if set == nil {
		set = fields.Set{}
	}
	set["metadata.name"] = acc.GetName()
	if r.Res.Namespaced {
		set["metadata.namespace"] = acc.GetNamespace()
	}
	return set
}

// CacheConfig is the watch-cache configuration of this resource: its key
// prefix, the attributes its field selectors match, and its indexes (pods
// by spec.nodeName). The caller adds the store and the world.
func (r *REST) CacheConfig() cacher.Config {
	cfg := cacher.Config{Prefix: r.Prefix(""), Type: r.typ(), Resource: r.gr().String(), Attrs: r.attrs}
	if r.Res.Group == "" && r.Res.Resource == "pods" {
		cfg.IndexFields = []string{"spec.nodeName"}
	}
	return cfg
}

// SharesFieldsWith reports whether r and o match field selectors on the
// same keys, so that one cache (built from o's CacheConfig) can serve both.
func (r *REST) SharesFieldsWith(o *REST) bool {
	if len(r.fieldKeys) != len(o.fieldKeys) || r.Res.StorageKind != o.Res.StorageKind {
		return false
	}
	for k := range r.fieldKeys {
		if !o.fieldKeys[k] {
			return false
		}
	}
	return true
}

// SetCache routes lists and watches through c (nil: straight to etcd), and
// lets updates and deletes start from its copy of the object.
func (r *REST) SetCache(c *cacher.Cacher) { r.cache = c }

// cached is the watch cache's copy of an object for a write to start
// from, or nil (no cache, not ready, or not there).
func (r *REST) cached(ns, name string) *storage.Cached {
	if r.cache == nil {
		return nil
	}
	if !r.Res.Namespaced {
		ns = ""
	}
	return r.cache.Cached(ns, name)
}

// attrs are the labels and field-selector attributes of a stored object,
// exactly what Predicate matches.
func (r *REST) attrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	return labels.Set(acc.GetLabels()), r.fieldSet(obj, acc), nil
}

// List returns one page of objects.
func (r *REST) List(ctx context.Context, ns string, sel Selection, opts storage.ListOptions) (*storage.ListResult, error) {
	pred, err := r.Predicate(sel)
	if err != nil {
		return nil, err
	}
	opts.Predicate = pred
	var res *storage.ListResult
	if r.cache != nil {
		res, err = r.cache.List(ctx, ns, cacher.Selection{Labels: sel.Labels, Fields: sel.Fields}, opts)
	} else {
		res, err = r.store.List(ctx, r.Prefix(ns), r.typ(), opts)
	}
	if err != nil {
		return nil, interpretStorageError(err, r.gr(), "")
	}
	return res, nil
}

// Watch streams changes; the caller cancels ctx to stop it.
func (r *REST) Watch(ctx context.Context, ns, name string, sel Selection, opts storage.WatchOptions) (<-chan storage.Event, error) {
	pred, err := r.Predicate(sel)
	if err != nil {
		return nil, err
	}
	opts.Predicate = pred
	if r.cache != nil {
		events, err := r.cache.Watch(ctx, ns, name, cacher.Selection{Labels: sel.Labels, Fields: sel.Fields}, opts)
		if err != nil {
			return nil, interpretStorageError(err, r.gr(), "")
		}
		return events, nil
	}
	key := r.Prefix(ns)
	opts.Recursive = true
	if name != "" {
		key, opts.Recursive = r.Key(ns, name), false
	}
	events, err := r.store.Watch(ctx, key, r.typ(), opts)
	if err != nil {
		return nil, interpretStorageError(err, r.gr(), "")
	}
	return events, nil
}

// WatchError gives the error a watch stream reports its API status (410
// Expired for a compacted resourceVersion), as every other verb's errors.
func (r *REST) WatchError(err error) error { return interpretStorageError(err, r.gr(), "") }

// Create stores a new object after defaulting, admission and validation.
func (r *REST) Create(ctx context.Context, ns string, obj runtime.Object, dryRun bool) (runtime.Object, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if err := r.checkNamespace(acc, ns); err != nil {
		return nil, err
	}
	if acc.GetResourceVersion() != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	if f := r.Res.Strategy.Default; f != nil {
		f(obj)
	}
	generated := acc.GetName() == "" && acc.GetGenerateName() != ""
	if generated {
		acc.SetName(acc.GetGenerateName() + generateSuffix())
	}
	acc.SetUID(types.UID(uuid.NewUUID()))
	acc.SetCreationTimestamp(metav1.NewTime(r.now()))
	acc.SetDeletionTimestamp(nil)
	acc.SetDeletionGracePeriodSeconds(nil)
	acc.SetSelfLink("")
	if !r.Res.NoGeneration {
		acc.SetGeneration(1)
	} else {
		acc.SetGeneration(0)
	}
	if f := r.Res.Strategy.PrepareForCreate; f != nil {
		f(obj)
	}
	if errs := r.validate(obj); len(errs) > 0 {
		return nil, apierrors.NewInvalid(r.Res.QualifiedKind(), acc.GetName(), errs)
	}
	if r.adm != nil {
		if err := r.adm.Create(ctx, r, obj, acc, dryRun); err != nil {
			return nil, err
		}
	}
	if dryRun {
		return obj, nil
	}
	for attempt := 0; ; attempt++ {
		out, err := r.store.Create(ctx, r.Key(acc.GetNamespace(), acc.GetName()), r.typ(), obj)
		if err != nil && generated && errors.Is(err, storage.ErrExists) && attempt < 7 {
			acc.SetName(acc.GetGenerateName() + generateSuffix())
			continue
		}
		if err != nil {
			if r.adm != nil {
				r.adm.Release(ctx, r, obj)
			}
			return nil, interpretStorageError(err, r.gr(), acc.GetName())
		}
		return out, nil
	}
}

func (r *REST) validate(obj runtime.Object) field.ErrorList {
	if f := r.Res.Strategy.Validate; f != nil {
		return f(obj)
	}
	return nil
}

// checkNamespace makes the object's namespace agree with the request's.
func (r *REST) checkNamespace(acc metav1.Object, ns string) error {
	if !r.Res.Namespaced {
		acc.SetNamespace("")
		return nil
	}
	switch acc.GetNamespace() {
	case "":
		acc.SetNamespace(ns)
	case ns:
	default:
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

// UpdateFunc computes the object a client wants from the stored one (nil
// when absent and creation on update is allowed).
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// UpdateOptions modify an update.
type UpdateOptions struct {
	DryRun bool
	// ForceAllowCreate lets this update create a missing object (server-side
	// apply does), whatever the resource's AllowCreateOnUpdate says.
	ForceAllowCreate bool
	// readOnlyCurrent: fn does not modify the object it is given, so the
	// store may hand it the watch cache's shared object (storage.Cached's
	// Shared). Only for the binding subresource, whose update path has no
	// hook that writes into fields the result shares with the current
	// object.
	readOnlyCurrent bool
}

// Update changes an object through the main resource (subresource "") or
// the status subresource, and reports whether it was created.
func (r *REST) Update(ctx context.Context, ns, name, subresource string, fn UpdateFunc, opts UpdateOptions) (runtime.Object, bool, error) {
	key := r.Key(ns, name)
	dryRun := opts.DryRun
	var deleteAfter bool
	allowCreate := (r.Res.AllowCreateOnUpdate || opts.ForceAllowCreate) && subresource == ""
	cached := r.cached(ns, name)
	if cached != nil && opts.readOnlyCurrent && subresource == "binding" {
		cached.Shared = true
	}
	out, wasCreated, err := r.store.GuaranteedUpdateFrom(ctx, key, r.typ(), allowCreate && !dryRun, cached, func(cur runtime.Object) (runtime.Object, error) {
		obj, err := fn(cur)
		if err != nil {
			return nil, err
		}
		acc, err := meta.Accessor(obj)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		if acc.GetName() != name {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", acc.GetName(), name))
		}
		if err := r.checkNamespace(acc, ns); err != nil {
			return nil, err
		}
		if cur == nil {
			acc.SetResourceVersion("")
			// Create with dryRun runs every create rule without writing;
			// GuaranteedUpdate then writes it with a create-only compare.
			return r.Create(ctx, ns, obj, true)
		}
		curAcc, _ := meta.Accessor(cur)
		if rv := acc.GetResourceVersion(); rv != "" && rv != curAcc.GetResourceVersion() {
			return nil, conflictModified(r.gr(), name)
		}
		if uid := acc.GetUID(); uid != "" && uid != curAcc.GetUID() {
			return nil, apierrors.NewConflict(r.gr(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, curAcc.GetUID()))
		}
		if err := r.prepareUpdate(obj, acc, cur, curAcc, subresource); err != nil {
			return nil, err
		}
		deleteAfter = acc.GetDeletionTimestamp() != nil && len(acc.GetFinalizers()) == 0 &&
			(acc.GetDeletionGracePeriodSeconds() == nil || *acc.GetDeletionGracePeriodSeconds() == 0)
		if ns, ok := obj.(*corev1.Namespace); ok && len(ns.Spec.Finalizers) > 0 {
			deleteAfter = false
		}
		if dryRun {
			return nil, errDryRun{obj}
		}
		return obj, nil
	})
	var dr errDryRun
	if errors.As(err, &dr) {
		return dr.obj, false, nil
	}
	if err != nil {
		return nil, false, interpretStorageError(err, r.gr(), name)
	}
	if deleteAfter {
		rv := mustAccessor(out).GetResourceVersion()
		// out is what was just stored: the delete compares its revision
		// instead of reading it back.
		var stored *storage.Cached
		if rev, err := storage.ParseRV(rv); err == nil && rev > 0 {
			stored = &storage.Cached{Obj: out, Rev: rev}
		}
		if _, err := r.store.DeleteFrom(ctx, key, r.typ(), stored, func(cur runtime.Object) error {
			if mustAccessor(cur).GetResourceVersion() != rv {
				return errSkipDelete
			}
			return nil
		}); err == nil && r.adm != nil {
			r.adm.Release(ctx, r, out)
		}
	}
	return out, wasCreated, nil
}

var errSkipDelete = errors.New("object changed before finalization")

// errDryRun carries a dry-run update's result out of GuaranteedUpdate
// without writing.
type errDryRun struct{ obj runtime.Object }

func (e errDryRun) Error() string { return "dry run" }

func mustAccessor(obj runtime.Object) metav1.Object {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return &metav1.ObjectMeta{}
	}
	return acc
}

// prepareUpdate carries server-owned metadata forward, applies the
// spec/status split and generation, runs the hooks and validates.
func (r *REST) prepareUpdate(obj runtime.Object, acc metav1.Object, cur runtime.Object, curAcc metav1.Object, subresource string) error {
	if f := r.Res.Strategy.Default; f != nil && subresource == "" {
		f(obj)
	}
	acc.SetUID(curAcc.GetUID())
	acc.SetCreationTimestamp(curAcc.GetCreationTimestamp())
	acc.SetDeletionTimestamp(curAcc.GetDeletionTimestamp())
	acc.SetDeletionGracePeriodSeconds(curAcc.GetDeletionGracePeriodSeconds())
	acc.SetGeneration(curAcc.GetGeneration())
	acc.SetSelfLink("")
	acc.SetResourceVersion(curAcc.GetResourceVersion())
	if acc.GetGenerateName() == "" {
		acc.SetGenerateName(curAcc.GetGenerateName())
	}
	var errs field.ErrorList
	switch subresource {
	case "finalize":
		// namespaces/finalize changes spec.finalizers and nothing else.
		if ns, ok := obj.(*corev1.Namespace); ok {
			fin := ns.Spec.Finalizers
			*ns = *cur.(*corev1.Namespace).DeepCopy()
			ns.Spec.Finalizers = fin
		}
	case "binding":
		// The binding subresource is the one way to set spec.nodeName; it
		// skips the main resource's update validation like upstream.
	case "status":
		copyField(obj, cur, "Spec")
		annotations := acc.GetAnnotations()
		metav1.ResetObjectMetaForStatus(acc, curAcc)
		if r.Res.StatusKeepsAnnotations {
			acc.SetAnnotations(annotations)
		}
		if f := r.Res.Strategy.ValidateStatusUpdate; f != nil {
			errs = f(obj, cur)
		}
	default:
		if r.Res.HasStatus {
			copyField(obj, cur, "Status")
		}
		if !r.Res.NoGeneration && specChanged(obj, cur) {
			acc.SetGeneration(curAcc.GetGeneration() + 1)
		}
		if f := r.Res.Strategy.PrepareForUpdate; f != nil {
			f(obj, cur)
		}
		if f := r.Res.Strategy.ValidateUpdate; f != nil {
			errs = f(obj, cur)
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(r.Res.QualifiedKind(), acc.GetName(), errs)
	}
	return nil
}

// immortalNamespaces cannot be deleted, as upstream.
var immortalNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// Delete deletes an object or, when finalizers or a grace period hold it,
// marks it with a deletionTimestamp. deleted reports which happened.
func (r *REST) Delete(ctx context.Context, ns, name string, opts *metav1.DeleteOptions, dryRun bool) (runtime.Object, bool, error) {
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	if r.Res.Group == "" && r.Res.Resource == "namespaces" && immortalNamespaces[name] {
		return nil, false, apierrors.NewForbidden(r.gr(), name, errors.New("this namespace may not be deleted"))
	}
	key := r.Key(ns, name)
	// The first attempt starts from the watch cache's copy (read only
	// here; the store copies what it hands out). A decision taken on it
	// that etcd may not share (a failed precondition, a changed object) is
	// taken again on etcd's object, which the cache may not have caught up
	// with yet. A dry run reads etcd, as it returns what it read.
	fresh := dryRun
	for {
		var (
			cached *storage.Cached
			cur    runtime.Object
			err    error
		)
		if !fresh {
			cached = r.cached(ns, name)
		}
		if cached != nil {
			cur = cached.Obj
		} else if cur, err = r.store.Get(ctx, key, r.typ()); err != nil {
			return nil, false, interpretStorageError(err, r.gr(), name)
		}
		acc := mustAccessor(cur)
		if err := r.checkPreconditions(opts.Preconditions, acc, name); err != nil {
			if cached != nil {
				fresh = true
				continue
			}
			return nil, false, err
		}
		grace := r.gracePeriod(cur, opts)
		finalizers := withPropagationFinalizers(acc.GetFinalizers(), opts)
		nsFinalizing := r.Res.Group == "" && r.Res.Resource == "namespaces" && len(cur.(*corev1.Namespace).Spec.Finalizers) > 0
		if len(finalizers) == 0 && grace == 0 && !nsFinalizing {
			if dryRun {
				return cur, true, nil
			}
			rv := acc.GetResourceVersion()
			out, err := r.store.DeleteFrom(ctx, key, r.typ(), cached, func(now runtime.Object) error {
				if mustAccessor(now).GetResourceVersion() != rv {
					return errRetryDelete
				}
				return nil
			})
			if errors.Is(err, errRetryDelete) {
				fresh = true
				continue
			}
			if err != nil {
				return nil, false, interpretStorageError(err, r.gr(), name)
			}
			if r.adm != nil {
				r.adm.Release(ctx, r, out)
			}
			return out, true, nil
		}
		// Graceful or finalized deletion: mark the object.
		out, _, err := r.store.GuaranteedUpdateFrom(ctx, key, r.typ(), false, cached, func(now runtime.Object) (runtime.Object, error) {
			nacc := mustAccessor(now)
			if nacc.GetResourceVersion() != acc.GetResourceVersion() {
				return nil, errRetryDelete
			}
			nacc.SetFinalizers(finalizers)
			existing := nacc.GetDeletionGracePeriodSeconds()
			if nacc.GetDeletionTimestamp() == nil || (existing != nil && grace < *existing) {
				ts := metav1.NewTime(r.now().Add(time.Duration(grace) * time.Second))
				nacc.SetDeletionTimestamp(&ts)
				g := grace
				nacc.SetDeletionGracePeriodSeconds(&g)
			}
			if ns, ok := now.(*corev1.Namespace); ok {
				ns.Status.Phase = corev1.NamespaceTerminating
			}
			if dryRun {
				return nil, errDryRun{now}
			}
			return now, nil
		})
		var dr errDryRun
		if errors.As(err, &dr) {
			return dr.obj, false, nil
		}
		if errors.Is(err, errRetryDelete) {
			fresh = true
			continue
		}
		if err != nil {
			return nil, false, interpretStorageError(err, r.gr(), name)
		}
		return out, false, nil
	}
}

var errRetryDelete = errors.New("object changed during delete")

func (r *REST) checkPreconditions(p *metav1.Preconditions, acc metav1.Object, name string) error {
	if p == nil {
		return nil
	}
	if p.UID != nil && *p.UID != acc.GetUID() {
		return apierrors.NewConflict(r.gr(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *p.UID, acc.GetUID()))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != acc.GetResourceVersion() {
		return apierrors.NewConflict(r.gr(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *p.ResourceVersion, acc.GetResourceVersion()))
	}
	return nil
}

// gracePeriod is 0 except for pods that a kubelet must stop: bound, not
// terminal, and not force-deleted.
func (r *REST) gracePeriod(obj runtime.Object, opts *metav1.DeleteOptions) int64 {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return 0
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if opts.GracePeriodSeconds != nil {
		grace = *opts.GracePeriodSeconds
		if grace < 0 {
			grace = 1
		}
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0
	}
	if pod.DeletionGracePeriodSeconds != nil && *pod.DeletionGracePeriodSeconds < grace {
		grace = *pod.DeletionGracePeriodSeconds
	}
	return grace
}

// withPropagationFinalizers adds the garbage collector's finalizers for
// foreground and orphan deletion.
func withPropagationFinalizers(finalizers []string, opts *metav1.DeleteOptions) []string {
	add := ""
	switch {
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationForeground:
		add = metav1.FinalizerDeleteDependents
	case opts.PropagationPolicy != nil && *opts.PropagationPolicy == metav1.DeletePropagationOrphan,
		opts.PropagationPolicy == nil && opts.OrphanDependents != nil && *opts.OrphanDependents:
		add = metav1.FinalizerOrphanDependents
	}
	out := make([]string, 0, len(finalizers)+1)
	for _, f := range finalizers {
		if f == metav1.FinalizerDeleteDependents || f == metav1.FinalizerOrphanDependents {
			if add != "" {
				continue
			}
		}
		out = append(out, f)
	}
	if add != "" {
		out = append(out, add)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
