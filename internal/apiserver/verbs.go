package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry"
	"kplane/internal/storage"
)

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	obj, err := sv.rest.Get(r.Context(), ns, ri.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, sv, http.StatusOK, obj)
}

// listParams are the parsed list/watch query parameters.
type listParams struct {
	sel               registry.Selection
	rv                string
	match             metav1.ResourceVersionMatch
	limit             int64
	cont              string
	timeoutSeconds    int64
	allowBookmarks    bool
	sendInitialEvents *bool
	watch             bool
}

// parseListParams validates list options as upstream's ValidateListOptions.
func parseListParams(r *http.Request, isWatch bool) (*listParams, error) {
	q := r.URL.Query()
	p := &listParams{rv: q.Get("resourceVersion"), match: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")), cont: q.Get("continue"), watch: isWatch}
	var err error
	if ls := q.Get("labelSelector"); ls != "" {
		if p.sel.Labels, err = labels.Parse(ls); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
	}
	if fs := q.Get("fieldSelector"); fs != "" {
		if p.sel.Fields, err = fields.ParseSelector(fs); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
	}
	parseInt := func(name string) (int64, error) {
		v := q.Get(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid %s %q: %v", name, v, err))
		}
		return n, nil
	}
	if p.limit, err = parseInt("limit"); err != nil {
		return nil, err
	}
	if p.timeoutSeconds, err = parseInt("timeoutSeconds"); err != nil {
		return nil, err
	}
	p.allowBookmarks = isTrue(q.Get("allowWatchBookmarks"))
	if v := q.Get("sendInitialEvents"); v != "" {
		b := isTrue(v)
		p.sendInitialEvents = &b
	}
	if _, err := storage.ParseRV(p.rv); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	var errs field.ErrorList
	switch p.match {
	case "":
	case metav1.ResourceVersionMatchExact, metav1.ResourceVersionMatchNotOlderThan:
		if isWatch && p.match == metav1.ResourceVersionMatchExact {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden for watch"))
		}
		if p.rv == "" && p.sendInitialEvents == nil {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden unless resourceVersion is provided"))
		}
		if p.match == metav1.ResourceVersionMatchExact && p.rv == "0" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
		}
		if p.cont != "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden when continue is provided"))
		}
	default:
		errs = append(errs, field.NotSupported(field.NewPath("resourceVersionMatch"), p.match, []string{string(metav1.ResourceVersionMatchExact), string(metav1.ResourceVersionMatchNotOlderThan), ""}))
	}
	if p.sendInitialEvents != nil {
		if !isWatch {
			errs = append(errs, field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
		} else {
			if p.match != metav1.ResourceVersionMatchNotOlderThan {
				errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
			}
			if !p.allowBookmarks {
				errs = append(errs, field.Forbidden(field.NewPath("allowWatchBookmarks"), "sendInitialEvents requires setting allowWatchBookmarks to true"))
			}
		}
	}
	if p.cont != "" && p.rv != "" && p.rv != "0" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersion"), "specifying resource version is not allowed when using continue"))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "ListOptions"}, "", errs)
	}
	return p, nil
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	p, err := parseListParams(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), true)
	if !ok {
		s.writeError(w, r, s.notAcceptable())
		return
	}
	res, err := sv.rest.List(r.Context(), ns, p.sel, storage.ListOptions{
		ResourceVersion: p.rv, Match: p.match, Limit: p.limit, Continue: p.cont,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lm := listMeta{rv: strconv.FormatInt(res.ResourceVersion, 10), cont: res.Continue, remaining: res.RemainingItemCount}
	if t.as != "" {
		out, err := s.transform(r, sv, t, res.Items, &lm, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, http.StatusOK, t, out)
		return
	}
	list, err := newServedList(sv, res.Items, lm)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusOK, t, list)
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, sv *served, ns string) {
	wr, err := s.readWrite(w, r, "create", "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	stored, err := s.decodeStored(w, r, sv, wr)
	if err == nil {
		stored, err = trackCreate(sv, stored, wr.owner.manager)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := sv.rest.Create(r.Context(), ns, stored, wr.dryRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, sv, http.StatusCreated, out)
}

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	s.serveReplace(w, r, sv, ri, ns, "")
}

// serveReplace is PUT on the main resource or its status subresource.
func (s *Server) serveReplace(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns, sub string) {
	wr, err := s.readWrite(w, r, "update", "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	stored, err := s.decodeStored(w, r, sv, wr)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, created, err := sv.rest.Update(r.Context(), ns, ri.Name, sub, func(cur runtime.Object) (runtime.Object, error) {
		return trackUpdate(sv, sub, cur, stored.DeepCopyObject(), wr.owner.manager)
	}, registry.UpdateOptions{DryRun: wr.dryRun})
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

// deleteOptions merges the body and query forms of DeleteOptions.
func (s *Server) deleteOptions(w http.ResponseWriter, r *http.Request) (*metav1.DeleteOptions, bool, error) {
	opts := &metav1.DeleteOptions{}
	data, err := s.readBody(w, r)
	if err != nil {
		return nil, false, err
	}
	if len(data) > 0 {
		// client-go sends DeleteOptions in protobuf when it talks protobuf.
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == mediaProtobuf {
			info, _ := s.serializerFor(mediaProtobuf)
			if _, _, err := info.Serializer.Decode(data, nil, opts); err != nil {
				return nil, false, apierrors.NewBadRequest(fmt.Sprintf("invalid DeleteOptions: %v", err))
			}
		} else if err := json.Unmarshal(data, opts); err != nil {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("invalid DeleteOptions: %v", err))
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", v))
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		pp := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &pp
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := isTrue(v)
		opts.OrphanDependents = &b
	}
	dryRun, err := parseDryRun(r)
	if err != nil {
		return nil, false, err
	}
	for _, d := range opts.DryRun {
		if d != "All" {
			return nil, false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dryRun: [%s] supported values: \"All\"", d))
		}
		dryRun = true
	}
	var errs field.ErrorList
	if pp := opts.PropagationPolicy; pp != nil {
		switch *pp {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("propagationPolicy"), *pp, []string{"Foreground", "Background", "Orphan", "nil"}))
		}
		if opts.OrphanDependents != nil {
			errs = append(errs, field.Invalid(field.NewPath("orphanDependents"), *opts.OrphanDependents, "orphanDependents and deletionPropagation cannot be both set"))
		}
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		// Upstream treats negative grace as 1 second rather than rejecting.
		one := int64(1)
		opts.GracePeriodSeconds = &one
	}
	if len(errs) > 0 {
		return nil, false, apierrors.NewInvalid(schema.GroupKind{Group: "meta.k8s.io", Kind: "DeleteOptions"}, "", errs)
	}
	return opts, dryRun, nil
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	opts, dryRun, err := s.deleteOptions(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, deleted, err := sv.rest.Delete(r.Context(), ns, ri.Name, opts, dryRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	if deleted && !sv.res.ReturnDeletedObject {
		acc, _ := meta.Accessor(obj)
		st := &metav1.Status{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
			Status:   metav1.StatusSuccess,
			Details:  &metav1.StatusDetails{Name: ri.Name, Group: sv.res.Group, Kind: sv.res.Resource},
		}
		if acc != nil {
			st.Details.UID = acc.GetUID()
		}
		t, ok := s.negotiate(r.Header.Get("Accept"), false)
		if !ok {
			t, _ = s.negotiate(mediaJSON, false)
		}
		s.writeObject(w, r, code, t, st)
		return
	}
	s.respond(w, r, sv, code, obj)
}

func (s *Server) serveDeleteCollection(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	p, err := parseListParams(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, dryRun, err := s.deleteOptions(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := sv.rest.List(r.Context(), ns, p.sel, storage.ListOptions{ResourceVersion: p.rv, Match: p.match})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	deleted := make([]runtime.Object, len(res.Items))
	g, ctx := errgroup.WithContext(r.Context())
	g.SetLimit(16)
	for i, it := range res.Items {
		acc, _ := meta.Accessor(it)
		g.Go(func() error {
			obj, _, err := sv.rest.Delete(ctx, acc.GetNamespace(), acc.GetName(), opts, dryRun)
			if apierrors.IsNotFound(err) {
				return nil
			}
			deleted[i] = obj
			return err
		})
	}
	if err := g.Wait(); err != nil {
		s.writeError(w, r, err)
		return
	}
	var items []runtime.Object
	for _, d := range deleted {
		if d != nil {
			items = append(items, d)
		}
	}
	list, err := newServedList(sv, items, listMeta{rv: strconv.FormatInt(res.ResourceVersion, 10)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		t, _ = s.negotiate(mediaJSON, false)
	}
	s.writeObject(w, r, http.StatusOK, t, list)
}
