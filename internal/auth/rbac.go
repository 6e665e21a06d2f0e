package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/informers"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
)

// RBACLister is what the RBAC authorizer reads: the four RBAC kinds, by the
// access patterns authorization needs. Implementations must be cheap (an
// informer cache), since they are consulted on every request. Returned
// objects may be shared with the cache: the authorizer only reads them.
type RBACLister interface {
	ListClusterRoleBindings() ([]*rbacv1.ClusterRoleBinding, error)
	ListRoleBindings(namespace string) ([]*rbacv1.RoleBinding, error)
	GetClusterRole(name string) (*rbacv1.ClusterRole, error)
	GetRole(namespace, name string) (*rbacv1.Role, error)
}

// rbacAuthorizer evaluates RBAC objects as upstream's RBAC authorizer.
type rbacAuthorizer struct {
	lister RBACLister
}

var _ Authorizer = (*rbacAuthorizer)(nil)

// NewRBAC returns an Authorizer that allows a request when a rule of a role
// bound to the user allows it: ClusterRoleBindings apply everywhere,
// RoleBindings only in their namespace (and a RoleBinding to a ClusterRole
// grants that role's rules only there). Aggregated ClusterRoles are read as
// stored, so their rules must already be expanded.
//
// On allow the reason names the binding, as upstream
// (`RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "z"`);
// on deny it is empty unless bindings could not be resolved, in which case
// it lists those errors (`RBAC: clusterrole.rbac.authorization.k8s.io "y"
// not found`). RBAC never returns an error itself.
func NewRBAC(lister RBACLister) Authorizer {
	return &rbacAuthorizer{lister: lister}
}

func (z *rbacAuthorizer) Authorize(_ context.Context, a Attributes) (bool, string, error) {
	user := a.User
	if user == nil {
		return false, "", nil
	}
	var errs []error

	crbs, err := z.lister.ListClusterRoleBindings()
	if err != nil {
		errs = append(errs, err)
	}
	for _, b := range crbs {
		i := appliesTo(user, b.Subjects, "")
		if i < 0 {
			continue
		}
		rules, err := z.roleRefRules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if rulesAllow(&a, rules) {
			return true, allowedReason("ClusterRoleBinding", b.Name, b.RoleRef, &b.Subjects[i], ""), nil
		}
	}

	if a.Namespace != "" {
		rbs, err := z.lister.ListRoleBindings(a.Namespace)
		if err != nil {
			errs = append(errs, err)
		}
		for _, b := range rbs {
			i := appliesTo(user, b.Subjects, a.Namespace)
			if i < 0 {
				continue
			}
			rules, err := z.roleRefRules(b.RoleRef, a.Namespace)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if rulesAllow(&a, rules) {
				return true, allowedReason("RoleBinding", b.Name+"/"+b.Namespace, b.RoleRef, &b.Subjects[i], b.Namespace), nil
			}
		}
	}

	if len(errs) == 0 {
		return false, "", nil
	}
	return false, "RBAC: " + utilerrors.NewAggregate(errs).Error(), nil
}

// roleRefRules resolves a binding's roleRef; bindingNamespace is "" for
// ClusterRoleBindings.
func (z *rbacAuthorizer) roleRefRules(ref rbacv1.RoleRef, bindingNamespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		if bindingNamespace == "" {
			return nil, apierrors.NewNotFound(rbacv1.Resource("role"), ref.Name)
		}
		role, err := z.lister.GetRole(bindingNamespace, ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	case "ClusterRole":
		role, err := z.lister.GetClusterRole(ref.Name)
		if err != nil {
			return nil, err
		}
		return role.Rules, nil
	default:
		return nil, unsupportedRoleRefError(ref.Kind)
	}
}

type unsupportedRoleRefError string

func (e unsupportedRoleRefError) Error() string {
	return "unsupported role reference kind: " + strconv.Quote(string(e))
}

// appliesTo returns the index of the first subject matching user, or -1.
// namespace defaults ServiceAccount subjects without one (RoleBindings).
func appliesTo(user *User, subjects []rbacv1.Subject, namespace string) int {
	for i := range subjects {
		if appliesToUser(user, &subjects[i], namespace) {
			return i
		}
	}
	return -1
}

func appliesToUser(user *User, s *rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return user.Name == s.Name
	case rbacv1.GroupKind:
		for _, g := range user.Groups {
			if g == s.Name {
				return true
			}
		}
		return false
	case rbacv1.ServiceAccountKind:
		ns := namespace
		if s.Namespace != "" {
			ns = s.Namespace
		}
		if ns == "" {
			return false
		}
		return matchesServiceAccount(ns, s.Name, user.Name)
	default:
		return false
	}
}

func rulesAllow(a *Attributes, rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		if RuleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}

// RuleAllows reports whether rule allows the request, with upstream's
// matching: "*" wildcards for verbs, groups and resources, "resource/sub"
// and "*/sub" for subresources, resourceNames (empty matches any name), and
// non-resource URLs matched exactly or by a prefix ending in "*". It does
// not allocate.
func RuleAllows(a *Attributes, rule *rbacv1.PolicyRule) bool {
	if !verbMatches(rule, a.Verb) {
		return false
	}
	if !a.ResourceRequest {
		return nonResourceURLMatches(rule, a.Path)
	}
	return apiGroupMatches(rule, a.APIGroup) &&
		resourceMatches(rule, a.Resource, a.Subresource) &&
		resourceNameMatches(rule, a.Name)
}

func verbMatches(rule *rbacv1.PolicyRule, verb string) bool {
	for _, v := range rule.Verbs {
		if v == rbacv1.VerbAll || v == verb {
			return true
		}
	}
	return false
}

func apiGroupMatches(rule *rbacv1.PolicyRule, group string) bool {
	for _, g := range rule.APIGroups {
		if g == rbacv1.APIGroupAll || g == group {
			return true
		}
	}
	return false
}

func resourceMatches(rule *rbacv1.PolicyRule, resource, subresource string) bool {
	for _, r := range rule.Resources {
		if r == rbacv1.ResourceAll {
			return true
		}
		if subresource == "" {
			if r == resource {
				return true
			}
			continue
		}
		// r == resource + "/" + subresource, without building the string.
		if len(r) == len(resource)+1+len(subresource) &&
			r[:len(resource)] == resource && r[len(resource)] == '/' && r[len(resource)+1:] == subresource {
			return true
		}
		// "*/subresource"
		if len(r) == len(subresource)+2 && r[0] == '*' && r[1] == '/' && r[2:] == subresource {
			return true
		}
	}
	return false
}

func resourceNameMatches(rule *rbacv1.PolicyRule, name string) bool {
	if len(rule.ResourceNames) == 0 {
		return true
	}
	for _, n := range rule.ResourceNames {
		if n == name {
			return true
		}
	}
	return false
}

func nonResourceURLMatches(rule *rbacv1.PolicyRule, path string) bool {
	for _, u := range rule.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// allowedReason renders upstream's allow reason, for example
// `RBAC: allowed by RoleBinding "rb/ns" of ClusterRole "view" to User "alice"`.
func allowedReason(bindingKind, bindingName string, ref rbacv1.RoleRef, s *rbacv1.Subject, bindingNamespace string) string {
	b := make([]byte, 0, 64+len(bindingName)+len(ref.Name)+len(s.Name)+len(s.Namespace)+len(bindingNamespace))
	b = append(b, "RBAC: allowed by "...)
	b = append(b, bindingKind...)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, bindingName)
	b = append(b, " of "...)
	b = append(b, ref.Kind...)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, ref.Name)
	b = append(b, " to "...)
	b = append(b, s.Kind...)
	b = append(b, ' ')
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		b = strconv.AppendQuote(b, s.Name+"/"+ns)
	} else {
		b = strconv.AppendQuote(b, s.Name)
	}
	return string(b)
}

// informerLister reads RBAC objects from a shared informer factory's caches.
// Bindings are read straight from the indexers, so a request costs two small
// slice allocations instead of the lister's append-as-you-go growth.
type informerLister struct {
	roles               rbaclisters.RoleLister
	clusterRoles        rbaclisters.ClusterRoleLister
	roleBindings        cache.Indexer
	clusterRoleBindings cache.Indexer
}

var _ RBACLister = (*informerLister)(nil)

// ListerFromInformers returns an RBACLister backed by factory's rbac/v1
// informers. It registers those four informers with factory, so call it
// before factory.Start, and wait for factory.WaitForCacheSync before
// serving: until then every request is denied.
func ListerFromInformers(factory informers.SharedInformerFactory) RBACLister {
	rbac := factory.Rbac().V1()
	return &informerLister{
		roles:               rbac.Roles().Lister(),
		clusterRoles:        rbac.ClusterRoles().Lister(),
		roleBindings:        rbac.RoleBindings().Informer().GetIndexer(),
		clusterRoleBindings: rbac.ClusterRoleBindings().Informer().GetIndexer(),
	}
}

func (l *informerLister) ListClusterRoleBindings() ([]*rbacv1.ClusterRoleBinding, error) {
	return typedSlice[*rbacv1.ClusterRoleBinding](l.clusterRoleBindings.List()), nil
}

func (l *informerLister) ListRoleBindings(namespace string) ([]*rbacv1.RoleBinding, error) {
	items, err := l.roleBindings.ByIndex(cache.NamespaceIndex, namespace)
	if err != nil {
		return nil, fmt.Errorf("list rolebindings in %q: %w", namespace, err)
	}
	return typedSlice[*rbacv1.RoleBinding](items), nil
}

// typedSlice converts cache items, skipping anything of another type (the
// informers only ever hold T).
func typedSlice[T any](items []any) []T {
	out := make([]T, 0, len(items))
	for _, it := range items {
		if t, ok := it.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (l *informerLister) GetClusterRole(name string) (*rbacv1.ClusterRole, error) {
	return l.clusterRoles.Get(name)
}

func (l *informerLister) GetRole(namespace, name string) (*rbacv1.Role, error) {
	return l.roles.Roles(namespace).Get(name)
}

// policyLister serves a fixed Policy; see NewPolicyLister.
type policyLister struct {
	clusterRoleBindings []*rbacv1.ClusterRoleBinding
	roleBindings        map[string][]*rbacv1.RoleBinding
	clusterRoles        map[string]*rbacv1.ClusterRole
	roles               map[string]map[string]*rbacv1.Role
}

var _ RBACLister = (*policyLister)(nil)

// NewPolicyLister returns an RBACLister over a fixed set of objects, for
// tests and for authorizing before informers have synced. Lookups of missing
// roles return the same NotFound errors as client-go listers.
func NewPolicyLister(p Policy) RBACLister {
	l := &policyLister{
		clusterRoleBindings: p.ClusterRoleBindings,
		roleBindings:        make(map[string][]*rbacv1.RoleBinding),
		clusterRoles:        make(map[string]*rbacv1.ClusterRole, len(p.ClusterRoles)),
		roles:               make(map[string]map[string]*rbacv1.Role),
	}
	for _, rb := range p.RoleBindings {
		l.roleBindings[rb.Namespace] = append(l.roleBindings[rb.Namespace], rb)
	}
	for _, cr := range p.ClusterRoles {
		l.clusterRoles[cr.Name] = cr
	}
	for _, r := range p.Roles {
		if l.roles[r.Namespace] == nil {
			l.roles[r.Namespace] = make(map[string]*rbacv1.Role)
		}
		l.roles[r.Namespace][r.Name] = r
	}
	return l
}

func (l *policyLister) ListClusterRoleBindings() ([]*rbacv1.ClusterRoleBinding, error) {
	return l.clusterRoleBindings, nil
}

func (l *policyLister) ListRoleBindings(namespace string) ([]*rbacv1.RoleBinding, error) {
	return l.roleBindings[namespace], nil
}

func (l *policyLister) GetClusterRole(name string) (*rbacv1.ClusterRole, error) {
	if cr, ok := l.clusterRoles[name]; ok {
		return cr, nil
	}
	return nil, apierrors.NewNotFound(rbacv1.Resource("clusterrole"), name)
}

func (l *policyLister) GetRole(namespace, name string) (*rbacv1.Role, error) {
	if r, ok := l.roles[namespace][name]; ok {
		return r, nil
	}
	return nil, apierrors.NewNotFound(rbacv1.Resource("role"), name)
}
