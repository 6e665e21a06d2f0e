package apis

import (
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

func leaseStrategy() strategy.Funcs {
	return hooks[*coordinationv1.Lease]{
		validate: func(l *coordinationv1.Lease) field.ErrorList {
			errs := validateObjectMeta(&l.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validateLeaseSpec(&l.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(l, old *coordinationv1.Lease) field.ErrorList {
			errs := validateObjectMetaUpdate(&l.ObjectMeta, &old.ObjectMeta, metadataPath)
			return append(errs, validateLeaseSpec(&l.Spec, field.NewPath("spec"))...)
		},
	}.funcs()
}

func validateLeaseSpec(s *coordinationv1.LeaseSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.LeaseDurationSeconds != nil && *s.LeaseDurationSeconds <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *s.LeaseDurationSeconds, "must be greater than 0"))
	}
	if s.LeaseTransitions != nil && *s.LeaseTransitions < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *s.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if s.Strategy != nil {
		errs = append(errs, validateLeaseStrategy(*s.Strategy, p.Child("strategy"))...)
	}
	if s.PreferredHolder != nil && *s.PreferredHolder != "" && (s.Strategy == nil || *s.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// validateLeaseStrategy accepts the built-in strategy or a domain-prefixed
// custom one.
func validateLeaseStrategy(s coordinationv1.CoordinatedLeaseStrategy, p *field.Path) field.ErrorList {
	if s == "" {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(s)) {
		errs = append(errs, field.Invalid(p, s, msg))
	}
	if !strings.Contains(string(s), "/") && s != coordinationv1.OldestEmulationVersion {
		errs = append(errs, field.NotSupported(p, s, []string{string(coordinationv1.OldestEmulationVersion)}))
	}
	return errs
}
