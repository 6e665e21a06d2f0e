package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kplane/internal/auth"
)

// Impersonation headers, as upstream (kubectl --as, --as-group, --as-uid).
const (
	hdrImpersonateUser        = "Impersonate-User"
	hdrImpersonateGroup       = "Impersonate-Group"
	hdrImpersonateUID         = "Impersonate-Uid"
	hdrImpersonateExtraPrefix = "Impersonate-Extra-"
)

// withImpersonation lets a permitted user act as another: every requested
// user, group, uid and extra needs the "impersonate" verb in RBAC.
func (s *Server) withImpersonation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.Header.Get(hdrImpersonateUser)
		groups := r.Header.Values(hdrImpersonateGroup)
		uid := r.Header.Get(hdrImpersonateUID)
		extra := map[string][]string{}
		for k, v := range r.Header {
			if strings.HasPrefix(k, hdrImpersonateExtraPrefix) {
				key, err := url.PathUnescape(strings.ToLower(strings.TrimPrefix(k, hdrImpersonateExtraPrefix)))
				if err != nil {
					s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("malformed impersonation extra key %q", k)))
					return
				}
				extra[key] = append(extra[key], v...)
			}
		}
		if name == "" {
			if len(groups) > 0 || uid != "" || len(extra) > 0 {
				s.writeError(w, r, apierrors.NewBadRequest("requested impersonation of groups, uid or extras without impersonating a user"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		requestor := userFrom(r.Context())
		check := func(a auth.Attributes, gr schema.GroupResource, target string) error {
			a.User, a.Verb, a.ResourceRequest = requestor, "impersonate", true
			allowed, reason, err := s.authorize(r.Context(), a)
			if err != nil || !allowed {
				msg := auth.ForbiddenMessage(a)
				if reason != "" {
					msg += ": " + reason
				}
				e := apierrors.NewForbidden(gr, target, errors.New(msg))
				e.ErrStatus.Message = fmt.Sprintf("%s %q is forbidden: %s", gr.String(), target, msg)
				return e
			}
			return nil
		}
		var err error
		if ns, sa, ok := auth.SplitServiceAccountUsername(name); ok {
			err = check(auth.Attributes{Resource: "serviceaccounts", Namespace: ns, Name: sa}, schema.GroupResource{Resource: "serviceaccounts"}, sa)
		} else {
			err = check(auth.Attributes{Resource: "users", Name: name}, schema.GroupResource{Resource: "users"}, name)
		}
		for _, g := range groups {
			if err == nil {
				err = check(auth.Attributes{Resource: "groups", Name: g}, schema.GroupResource{Resource: "groups"}, g)
			}
		}
		if err == nil && uid != "" {
			err = check(auth.Attributes{APIGroup: "authentication.k8s.io", Resource: "uids", Name: uid}, schema.GroupResource{Group: "authentication.k8s.io", Resource: "uids"}, uid)
		}
		for k, vals := range extra {
			for _, v := range vals {
				if err == nil {
					err = check(auth.Attributes{APIGroup: "authentication.k8s.io", Resource: "userextras", Subresource: k, Name: v},
						schema.GroupResource{Group: "authentication.k8s.io", Resource: "userextras/" + k}, v)
				}
			}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		u := &auth.User{Name: name, UID: uid, Groups: append([]string(nil), groups...)}
		if len(extra) > 0 {
			u.Extra = extra
		}
		if ns, _, ok := auth.SplitServiceAccountUsername(name); ok {
			u.Groups = append(u.Groups, auth.GroupServiceAccounts, auth.ServiceAccountGroup(ns))
		}
		if name != auth.UserAnonymous && !u.InGroup(auth.GroupAuthenticated) {
			u.Groups = append(u.Groups, auth.GroupAuthenticated)
		}
		for k := range r.Header {
			if strings.HasPrefix(k, "Impersonate-") {
				r.Header.Del(k)
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey, u)))
	})
}
