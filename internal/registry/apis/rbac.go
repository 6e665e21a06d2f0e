package apis

import (
	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// rbacName validates RBAC object names: anything usable as a path segment,
// which allows ':' as in "system:node".
func rbacName(name string, prefix bool) []string { return path.IsValidPathSegmentName(name) }

func roleStrategy() strategy.Funcs {
	return hooks[*rbacv1.Role]{
		validate: validateRole,
		validateUpdate: func(r, old *rbacv1.Role) field.ErrorList {
			return append(validateRole(r), validateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta, metadataPath)...)
		},
	}.funcs()
}

func validateRole(r *rbacv1.Role) field.ErrorList {
	errs := validateObjectMeta(&r.ObjectMeta, true, rbacName, metadataPath)
	for i := range r.Rules {
		errs = append(errs, validatePolicyRule(&r.Rules[i], true, field.NewPath("rules").Index(i))...)
	}
	return errs
}

func clusterRoleStrategy() strategy.Funcs {
	return hooks[*rbacv1.ClusterRole]{
		validate: validateClusterRole,
		validateUpdate: func(r, old *rbacv1.ClusterRole) field.ErrorList {
			return append(validateClusterRole(r), validateObjectMetaUpdate(&r.ObjectMeta, &old.ObjectMeta, metadataPath)...)
		},
	}.funcs()
}

func validateClusterRole(r *rbacv1.ClusterRole) field.ErrorList {
	errs := validateObjectMeta(&r.ObjectMeta, false, rbacName, metadataPath)
	for i := range r.Rules {
		errs = append(errs, validatePolicyRule(&r.Rules[i], false, field.NewPath("rules").Index(i))...)
	}
	if r.AggregationRule != nil {
		sp := field.NewPath("aggregationRule", "clusterRoleSelectors")
		if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
			errs = append(errs, field.Required(sp, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
		}
		for i := range r.AggregationRule.ClusterRoleSelectors {
			sel := &r.AggregationRule.ClusterRoleSelectors[i]
			errs = append(errs, validateSelector(sel, sp.Index(i))...)
			if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
				errs = append(errs, field.Invalid(sp.Index(i), sel, "invalid label selector."))
			}
		}
	}
	return errs
}

// validatePolicyRule: every rule needs verbs; resource rules need API
// groups and resources; non-resource URLs exist only in cluster roles.
func validatePolicyRule(r *rbacv1.PolicyRule, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(r.Verbs) == 0 {
		errs = append(errs, field.Required(p.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(r.NonResourceURLs) > 0 {
		if namespaced {
			errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(r.APIGroups) > 0 || len(r.Resources) > 0 || len(r.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(p.Child("nonResourceURLs"), r.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(r.APIGroups) == 0 {
		errs = append(errs, field.Required(p.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(r.Resources) == 0 {
		errs = append(errs, field.Required(p.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}

// defaultBindingRefs mirrors SetDefaults_RoleBinding/ClusterRoleBinding and
// SetDefaults_Subject.
func defaultBindingRefs(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup != "" {
			continue
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			s.APIGroup = ""
		case rbacv1.UserKind, rbacv1.GroupKind:
			s.APIGroup = rbacv1.GroupName
		}
	}
}

func roleBindingStrategy() strategy.Funcs {
	return hooks[*rbacv1.RoleBinding]{
		defaults: func(b *rbacv1.RoleBinding) { defaultBindingRefs(&b.RoleRef, b.Subjects) },
		validate: validateRoleBinding,
		validateUpdate: func(b, old *rbacv1.RoleBinding) field.ErrorList {
			errs := validateRoleBinding(b)
			errs = append(errs, validateObjectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta, metadataPath)...)
			return append(errs, roleRefUnchanged(b.RoleRef, old.RoleRef)...)
		},
	}.funcs()
}

func validateRoleBinding(b *rbacv1.RoleBinding) field.ErrorList {
	errs := validateObjectMeta(&b.ObjectMeta, true, rbacName, metadataPath)
	errs = append(errs, validateRoleRef(b.RoleRef, []string{"Role", "ClusterRole"})...)
	for i := range b.Subjects {
		errs = append(errs, validateSubject(&b.Subjects[i], true, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

func clusterRoleBindingStrategy() strategy.Funcs {
	return hooks[*rbacv1.ClusterRoleBinding]{
		defaults: func(b *rbacv1.ClusterRoleBinding) { defaultBindingRefs(&b.RoleRef, b.Subjects) },
		validate: validateClusterRoleBinding,
		validateUpdate: func(b, old *rbacv1.ClusterRoleBinding) field.ErrorList {
			errs := validateClusterRoleBinding(b)
			errs = append(errs, validateObjectMetaUpdate(&b.ObjectMeta, &old.ObjectMeta, metadataPath)...)
			return append(errs, roleRefUnchanged(b.RoleRef, old.RoleRef)...)
		},
	}.funcs()
}

func validateClusterRoleBinding(b *rbacv1.ClusterRoleBinding) field.ErrorList {
	errs := validateObjectMeta(&b.ObjectMeta, false, rbacName, metadataPath)
	errs = append(errs, validateRoleRef(b.RoleRef, []string{"ClusterRole"})...)
	for i := range b.Subjects {
		errs = append(errs, validateSubject(&b.Subjects[i], false, field.NewPath("subjects").Index(i))...)
	}
	return errs
}

func validateRoleRef(ref rbacv1.RoleRef, kinds []string) field.ErrorList {
	var errs field.ErrorList
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(field.NewPath("roleRef", "apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	known := false
	for _, k := range kinds {
		known = known || ref.Kind == k
	}
	if !known {
		errs = append(errs, field.NotSupported(field.NewPath("roleRef", "kind"), ref.Kind, kinds))
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(field.NewPath("roleRef", "name"), ""))
	} else {
		for _, msg := range rbacName(ref.Name, false) {
			errs = append(errs, field.Invalid(field.NewPath("roleRef", "name"), ref.Name, msg))
		}
	}
	return errs
}

// internalRoleRef has the shape (and so the JSON rendering in error
// messages) of upstream's internal rbac.RoleRef, which has no json tags.
type internalRoleRef struct {
	APIGroup string
	Kind     string
	Name     string
}

func roleRefUnchanged(ref, old rbacv1.RoleRef) field.ErrorList {
	if ref == old {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("roleRef"), internalRoleRef(ref), "cannot change roleRef")}
}

func validateSubject(s *rbacv1.Subject, namespaced bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(s.Name, false) {
				errs = append(errs, field.Invalid(p.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(p.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(p.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}
