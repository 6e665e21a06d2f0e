package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/auth"
	"kplane/internal/registry"
)

// createFunc answers a create on a virtual (not stored) resource.
type createFunc func(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error)

// virtualResources are the create-only review APIs clients use to ask the
// server about identities and permissions (kubectl auth can-i, whoami).
func (s *Server) virtualResources() []*served {
	mk := func(group, resource, kind string, namespaced bool, newObj func() runtime.Object, create createFunc) *served {
		return &served{res: &registry.Resource{
			Group: group, Version: "v1", Resource: resource, Kind: kind, ListKind: kind + "List", Singular: lowerASCII(kind),
			Namespaced: namespaced, New: newObj, NewList: func() runtime.Object { return nil }, Verbs: []string{"create"},
			StorageKind: schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind},
		}, create: create}
	}
	return []*served{
		mk("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false,
			func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }, s.selfSubjectAccessReview),
		mk("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", false,
			func() runtime.Object { return &authorizationv1.SubjectAccessReview{} }, s.subjectAccessReview),
		mk("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", true,
			func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} }, s.localSubjectAccessReview),
		mk("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false,
			func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }, s.selfSubjectRulesReview),
		mk("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", false,
			func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }, s.selfSubjectReview),
		mk("authentication.k8s.io", "tokenreviews", "TokenReview", false,
			func() runtime.Object { return &authenticationv1.TokenReview{} }, s.tokenReview),
	}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// serveVirtualCreate decodes the review, answers it, and returns it with
// its status filled in (201, as upstream).
func (s *Server) serveVirtualCreate(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	if ri.Verb != "create" || ri.Name != "" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(sv.res.QualifiedResource(), ri.Verb))
		return
	}
	data, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.decodeBody(w, r, data, sv.res.GVK(), sv.res.New(), fvWarn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := sv.create(r.Context(), ns, obj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out.GetObjectKind().SetGroupVersionKind(sv.res.GVK())
	t, ok := s.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		s.writeError(w, r, s.notAcceptable())
		return
	}
	s.writeObject(w, r, http.StatusCreated, t, out)
}

func reviewAttributes(u *auth.User, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) (auth.Attributes, error) {
	switch {
	case ra != nil:
		return auth.Attributes{User: u, Verb: ra.Verb, Namespace: ra.Namespace, APIGroup: ra.Group, APIVersion: ra.Version,
			Resource: ra.Resource, Subresource: ra.Subresource, Name: ra.Name, ResourceRequest: true}, nil
	case nra != nil:
		return auth.Attributes{User: u, Verb: nra.Verb, Path: nra.Path}, nil
	}
	return auth.Attributes{}, apierrors.NewBadRequest("exactly one of nonResourceAttributes or resourceAttributes must be specified")
}

func (s *Server) decide(ctx context.Context, a auth.Attributes) authorizationv1.SubjectAccessReviewStatus {
	allowed, reason, err := s.authorize(ctx, a)
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: allowed, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

func (s *Server) selfSubjectAccessReview(ctx context.Context, _ string, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.SelfSubjectAccessReview)
	a, err := reviewAttributes(userFrom(ctx), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes)
	if err != nil {
		return nil, err
	}
	r.Status = s.decide(ctx, a)
	return r, nil
}

func subjectUser(spec authorizationv1.SubjectAccessReviewSpec) *auth.User {
	u := &auth.User{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	if len(spec.Extra) > 0 {
		u.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			u.Extra[k] = v
		}
	}
	return u
}

func (s *Server) subjectAccessReview(ctx context.Context, _ string, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.SubjectAccessReview)
	if r.Spec.User == "" && len(r.Spec.Groups) == 0 {
		return nil, apierrors.NewBadRequest("at least one of user or group must be specified")
	}
	a, err := reviewAttributes(subjectUser(r.Spec), r.Spec.ResourceAttributes, r.Spec.NonResourceAttributes)
	if err != nil {
		return nil, err
	}
	r.Status = s.decide(ctx, a)
	return r, nil
}

func (s *Server) localSubjectAccessReview(ctx context.Context, ns string, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.LocalSubjectAccessReview)
	if r.Spec.ResourceAttributes == nil || r.Spec.ResourceAttributes.Namespace != ns {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %s", ns))
	}
	a, err := reviewAttributes(subjectUser(r.Spec), r.Spec.ResourceAttributes, nil)
	if err != nil {
		return nil, err
	}
	r.Status = s.decide(ctx, a)
	return r, nil
}

func (s *Server) selfSubjectRulesReview(ctx context.Context, _ string, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authorizationv1.SelfSubjectRulesReview)
	u := userFrom(ctx)
	resolver, ok := s.ruleResolver.Load().(auth.RuleResolver)
	if !ok {
		r.Status.Incomplete = true
		r.Status.EvaluationError = "rules are not available yet"
		return r, nil
	}
	rules, err := resolver.RulesFor(u, r.Spec.Namespace)
	if err != nil {
		r.Status.Incomplete = true
		r.Status.EvaluationError = err.Error()
	}
	for _, rule := range rules {
		if len(rule.NonResourceURLs) > 0 {
			r.Status.NonResourceRules = append(r.Status.NonResourceRules, authorizationv1.NonResourceRule{Verbs: rule.Verbs, NonResourceURLs: rule.NonResourceURLs})
			continue
		}
		r.Status.ResourceRules = append(r.Status.ResourceRules, authorizationv1.ResourceRule{
			Verbs: rule.Verbs, APIGroups: rule.APIGroups, Resources: rule.Resources, ResourceNames: rule.ResourceNames})
	}
	return r, nil
}

func userInfo(u *auth.User) authenticationv1.UserInfo {
	ui := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: u.Groups}
	if len(u.Extra) > 0 {
		ui.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			ui.Extra[k] = v
		}
	}
	return ui
}

func (s *Server) selfSubjectReview(ctx context.Context, _ string, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authenticationv1.SelfSubjectReview)
	r.Status.UserInfo = userInfo(userFrom(ctx))
	return r, nil
}

func (s *Server) tokenReview(ctx context.Context, _ string, obj runtime.Object) (runtime.Object, error) {
	r := obj.(*authenticationv1.TokenReview)
	if r.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.Spec.Token)
	u, ok, err := s.authn.Authenticate(req)
	switch {
	case err != nil:
		r.Status.Error = err.Error()
	case ok:
		r.Status.Authenticated = true
		r.Status.User = userInfo(u)
		r.Status.Audiences = r.Spec.Audiences
	}
	return r, nil
}

// serveToken issues a service-account token (serviceaccounts/<name>/token).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	if ri.Verb != "create" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "serviceaccounts/token"}, ri.Verb))
		return
	}
	if s.tokens == nil {
		s.writeError(w, r, apierrors.NewServiceUnavailable("service account token signing is not configured"))
		return
	}
	data, err := s.readBody(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	gvk := schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}
	obj, err := s.decodeBody(w, r, data, gvk, &authenticationv1.TokenRequest{}, fvWarn)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tr := obj.(*authenticationv1.TokenRequest)
	saObj, err := sv.rest.Get(r.Context(), ns, ri.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sa, err := metaAccessor(saObj)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	exp := int64(3600)
	if tr.Spec.ExpirationSeconds != nil {
		exp = *tr.Spec.ExpirationSeconds
	}
	if exp < 600 {
		s.writeError(w, r, apierrors.NewInvalid(gvk.GroupKind(), ri.Name, field.ErrorList{
			field.Invalid(field.NewPath("spec", "expirationSeconds"), exp, "may not specify a duration less than 10 minutes")}))
		return
	}
	if len(tr.Spec.Audiences) == 0 {
		tr.Spec.Audiences = []string{s.cfg.ServiceAccountIssuer}
	}
	token, expires, err := s.tokens.Issue(ns, ri.Name, string(sa.GetUID()), tr.Spec.Audiences, time.Duration(exp)*time.Second, nil)
	if err != nil {
		s.writeError(w, r, apierrors.NewInternalError(err))
		return
	}
	tr.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(expires)}
	tr.Spec.ExpirationSeconds = &exp
	tr.TypeMeta = metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenRequest"}
	t, _ := s.negotiate(r.Header.Get("Accept"), false)
	if t.info.Serializer == nil {
		t, _ = s.negotiate(mediaJSON, false)
	}
	s.writeObject(w, r, http.StatusCreated, t, tr)
}
