package auth

import (
	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// RuleResolver lists the RBAC rules that apply to a user in a namespace;
// SelfSubjectRulesReview (`kubectl auth can-i --list`) is built on it.
type RuleResolver interface {
	RulesFor(user *User, namespace string) ([]rbacv1.PolicyRule, error)
}

var _ RuleResolver = (*rbacAuthorizer)(nil)

// RulesFor returns the rules of every ClusterRoleBinding, and of every
// RoleBinding in namespace, whose subjects include user. Bindings whose
// roles cannot be resolved are reported in the error; the rules found are
// still returned, as upstream marks such reviews incomplete.
func (z *rbacAuthorizer) RulesFor(user *User, namespace string) ([]rbacv1.PolicyRule, error) {
	var (
		rules []rbacv1.PolicyRule
		errs  []error
	)
	crbs, err := z.lister.ListClusterRoleBindings()
	if err != nil {
		errs = append(errs, err)
	}
	for _, b := range crbs {
		if appliesTo(user, b.Subjects, "") < 0 {
			continue
		}
		r, err := z.roleRefRules(b.RoleRef, "")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r...)
	}
	if namespace != "" {
		rbs, err := z.lister.ListRoleBindings(namespace)
		if err != nil {
			errs = append(errs, err)
		}
		for _, b := range rbs {
			if appliesTo(user, b.Subjects, namespace) < 0 {
				continue
			}
			r, err := z.roleRefRules(b.RoleRef, namespace)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			rules = append(rules, r...)
		}
	}
	return rules, utilerrors.NewAggregate(errs)
}
