package auth

import (
	"context"
	"strconv"
	"strings"
)

// Attributes describe a request for authorization, the same fields
// upstream's authorizer.Attributes exposes.
type Attributes struct {
	// User is the authenticated user; nil is never allowed by RBAC.
	User *User
	// Verb is the Kubernetes verb for resource requests (get, list, watch,
	// create, update, patch, delete, deletecollection, or a custom verb such
	// as impersonate) and the lower-cased HTTP method for non-resource
	// requests (get, post, put, delete, ...).
	Verb string
	// Namespace is empty for cluster-scoped resources and cluster-wide
	// lists.
	Namespace   string
	APIGroup    string
	APIVersion  string
	Resource    string
	Subresource string
	Name        string
	// ResourceRequest is false for non-resource URLs such as /healthz.
	ResourceRequest bool
	// Path is the URL path; authorization uses it for non-resource requests.
	Path string
}

// Authorizer decides whether a request is allowed. allowed=false is "no
// opinion" (another authorizer may still allow); reason explains the
// decision for audit logs and the 403 body.
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (allowed bool, reason string, err error)
}

// AuthorizerFunc adapts a function to [Authorizer].
type AuthorizerFunc func(ctx context.Context, a Attributes) (bool, string, error)

// Authorize calls f(ctx, a).
func (f AuthorizerFunc) Authorize(ctx context.Context, a Attributes) (bool, string, error) {
	return f(ctx, a)
}

// privilegedGroups allows members of fixed groups.
type privilegedGroups struct {
	groups []string
}

var _ Authorizer = (*privilegedGroups)(nil)

// NewPrivilegedGroups returns an Authorizer that allows every request from
// a member of any of groups (normally just system:masters), regardless of
// RBAC objects, as kube-apiserver does so that a broken policy can be
// repaired.
func NewPrivilegedGroups(groups ...string) Authorizer {
	return &privilegedGroups{groups: groups}
}

func (p *privilegedGroups) Authorize(_ context.Context, a Attributes) (bool, string, error) {
	if a.User == nil {
		return false, "", nil
	}
	for _, g := range a.User.Groups {
		for _, pg := range p.groups {
			if g == pg {
				return true, "", nil
			}
		}
	}
	return false, "", nil
}

// ForbiddenMessage renders the sentence upstream puts in a 403 Status, for
// example
//
//	User "alice" cannot list resource "pods" in API group "" in the namespace "other"
//	User "alice" cannot get resource "nodes" in API group "" at the cluster scope
//	User "alice" cannot get resource "pods/log" in API group "" in the namespace "a"
//	User "system:anonymous" cannot get path "/foo"
//
// The API server completes it as upstream does: when the authorizer gave a
// reason it appends ": " + reason, and it wraps the result with
// apierrors.NewForbidden(group/resource, name, ...), which prefixes
// `pods "x" is forbidden: ` (or `forbidden: ` for non-resource paths).
func ForbiddenMessage(a Attributes) string {
	username := ""
	if a.User != nil {
		username = a.User.Name
	}
	var b strings.Builder
	b.Grow(96 + len(username) + len(a.Resource) + len(a.Subresource) + len(a.APIGroup) + len(a.Namespace) + len(a.Path))
	b.WriteString("User ")
	b.WriteString(strconv.Quote(username))
	b.WriteString(" cannot ")
	b.WriteString(a.Verb)
	if !a.ResourceRequest {
		b.WriteString(" path ")
		b.WriteString(strconv.Quote(a.Path))
		return b.String()
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	b.WriteString(" resource ")
	b.WriteString(strconv.Quote(resource))
	b.WriteString(" in API group ")
	b.WriteString(strconv.Quote(a.APIGroup))
	if a.Namespace != "" {
		b.WriteString(" in the namespace ")
		b.WriteString(strconv.Quote(a.Namespace))
	} else {
		b.WriteString(" at the cluster scope")
	}
	return b.String()
}
