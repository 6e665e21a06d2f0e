package apis

import (
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

func pdbStrategy() strategy.Funcs {
	return hooks[*policyv1.PodDisruptionBudget]{
		prepareForCreate: func(p *policyv1.PodDisruptionBudget) { p.Status = policyv1.PodDisruptionBudgetStatus{} },
		prepareForUpdate: func(p, old *policyv1.PodDisruptionBudget) { p.Status = old.Status },
		validate: func(p *policyv1.PodDisruptionBudget) field.ErrorList {
			errs := validateObjectMeta(&p.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metadataPath)
			return append(errs, validatePDBSpec(&p.Spec, field.NewPath("spec"))...)
		},
		validateUpdate: func(p, old *policyv1.PodDisruptionBudget) field.ErrorList {
			errs := validateObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta, metadataPath)
			return append(errs, validatePDBSpec(&p.Spec, field.NewPath("spec"))...)
		},
		validateStatusUpdate: func(p, old *policyv1.PodDisruptionBudget) field.ErrorList {
			errs := validateObjectMetaUpdate(&p.ObjectMeta, &old.ObjectMeta, metadataPath)
			sp := field.NewPath("status")
			s := &p.Status
			errs = append(errs, metav1validation.ValidateConditions(s.Conditions, sp.Child("conditions"))...)
			errs = append(errs, nonNegative(int64(s.DisruptionsAllowed), sp.Child("disruptionsAllowed"))...)
			errs = append(errs, nonNegative(int64(s.CurrentHealthy), sp.Child("currentHealthy"))...)
			errs = append(errs, nonNegative(int64(s.DesiredHealthy), sp.Child("desiredHealthy"))...)
			return append(errs, nonNegative(int64(s.ExpectedPods), sp.Child("expectedPods"))...)
		},
	}.funcs()
}

func validatePDBSpec(s *policyv1.PodDisruptionBudgetSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.MinAvailable != nil && s.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(p, s, "minAvailable and maxUnavailable cannot be both set"))
	}
	if s.MinAvailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*s.MinAvailable, p.Child("minAvailable"))...)
		errs = append(errs, notMoreThan100Percent(*s.MinAvailable, p.Child("minAvailable"))...)
	}
	if s.MaxUnavailable != nil {
		errs = append(errs, validatePositiveIntOrPercent(*s.MaxUnavailable, p.Child("maxUnavailable"))...)
		errs = append(errs, notMoreThan100Percent(*s.MaxUnavailable, p.Child("maxUnavailable"))...)
	}
	errs = append(errs, validateSelector(s.Selector, p.Child("selector"))...)
	if pol := s.UnhealthyPodEvictionPolicy; pol != nil {
		switch *pol {
		case policyv1.IfHealthyBudget, policyv1.AlwaysAllow:
		default:
			errs = append(errs, field.NotSupported(p.Child("unhealthyPodEvictionPolicy"), *pol, []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}))
		}
	}
	return errs
}
