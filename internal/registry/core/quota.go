package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

func resourceQuotaStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default: func(obj runtime.Object) {
			q := obj.(*corev1.ResourceQuota)
			roundUpResourceList(q.Spec.Hard)
			roundUpResourceList(q.Status.Hard)
			roundUpResourceList(q.Status.Used)
		},
		PrepareForCreate: func(obj runtime.Object) { obj.(*corev1.ResourceQuota).Status = corev1.ResourceQuotaStatus{} },
		Validate: func(obj runtime.Object) field.ErrorList {
			q := obj.(*corev1.ResourceQuota)
			allErrs := validateObjectMeta(&q.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
			allErrs = append(allErrs, validateResourceQuotaSpec(&q.Spec, specPath)...)
			return append(allErrs, validateQuotaResourceList(q.Status.Hard, q.Status.Used)...)
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			q, o := obj.(*corev1.ResourceQuota), old.(*corev1.ResourceQuota)
			allErrs := validateObjectMetaUpdate(&q.ObjectMeta, &o.ObjectMeta, metadataPath)
			allErrs = append(allErrs, validateResourceQuotaSpec(&q.Spec, specPath)...)
			oldScopes, newScopes := sets.New[corev1.ResourceQuotaScope](o.Spec.Scopes...), sets.New[corev1.ResourceQuotaScope](q.Spec.Scopes...)
			if !oldScopes.Equal(newScopes) {
				allErrs = append(allErrs, field.Invalid(specPath.Child("scopes"), q.Spec.Scopes, fieldImmutableErrorMsg))
			}
			return allErrs
		},
		ValidateStatusUpdate: func(obj, old runtime.Object) field.ErrorList {
			q, o := obj.(*corev1.ResourceQuota), old.(*corev1.ResourceQuota)
			allErrs := validateObjectMetaUpdate(&q.ObjectMeta, &o.ObjectMeta, metadataPath)
			if q.ResourceVersion == "" {
				allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
			}
			return append(allErrs, validateQuotaResourceList(q.Status.Hard, q.Status.Used)...)
		},
	}
}

func validateQuotaResourceList(hard, used corev1.ResourceList) field.ErrorList {
	var allErrs field.ErrorList
	for _, l := range []struct {
		name string
		list corev1.ResourceList
	}{{"hard", hard}, {"used", used}} {
		for k, v := range l.list {
			p := statusPath.Child(l.name).Key(string(k))
			allErrs = append(allErrs, validateResourceQuotaResourceName(k, p)...)
			allErrs = append(allErrs, validateResourceQuantityValue(k, v, p)...)
		}
	}
	return allErrs
}

var (
	standardQuotaScopes = sets.New(
		corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating,
		corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
		corev1.ResourceQuotaScopeVolumeAttributesClass)
	podComputeQuotaResources = sets.New[corev1.ResourceName]("cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory")
)

func scopeValidForResource(scope corev1.ResourceQuotaScope, r corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return r == corev1.ResourcePods || podComputeQuotaResources.Has(r)
	case corev1.ResourceQuotaScopeBestEffort:
		return r == corev1.ResourcePods
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		return r == corev1.ResourcePersistentVolumeClaims || r == corev1.ResourceRequestsStorage
	}
	return true
}

func validateResourceQuotaSpec(spec *corev1.ResourceQuotaSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for k, v := range spec.Hard {
		p := fldPath.Child("hard").Key(string(k))
		allErrs = append(allErrs, validateResourceQuotaResourceName(k, p)...)
		allErrs = append(allErrs, validateResourceQuantityValue(k, v, p)...)
	}
	hard := sets.List(sets.KeySet(spec.Hard))
	conflicting := func(scopes sets.Set[corev1.ResourceQuotaScope], p *field.Path, value any) {
		if scopes.HasAll(corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort) {
			allErrs = append(allErrs, field.Invalid(p, value, "conflicting scopes"))
		}
		if scopes.HasAll(corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating) {
			allErrs = append(allErrs, field.Invalid(p, value, "conflicting scopes"))
		}
	}
	if len(spec.Scopes) > 0 {
		p := fldPath.Child("scopes")
		seen := sets.New[corev1.ResourceQuotaScope]()
		for _, scope := range spec.Scopes {
			if !standardQuotaScopes.Has(scope) {
				allErrs = append(allErrs, field.Invalid(p, spec.Scopes, "unsupported scope"))
			}
			for _, k := range hard {
				if isStandardQuotaResource(k) && !scopeValidForResource(scope, k) {
					allErrs = append(allErrs, field.Invalid(p, spec.Scopes, "unsupported scope applied to resource"))
				}
			}
			seen.Insert(scope)
		}
		conflicting(seen, p, spec.Scopes)
	}
	if spec.ScopeSelector != nil {
		p := fldPath.Child("scopeSelector", "matchExpressions")
		seen := sets.New[corev1.ResourceQuotaScope]()
		for _, req := range spec.ScopeSelector.MatchExpressions {
			if !standardQuotaScopes.Has(req.ScopeName) {
				allErrs = append(allErrs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
			}
			for _, k := range hard {
				if isStandardQuotaResource(k) && !scopeValidForResource(req.ScopeName, k) {
					allErrs = append(allErrs, field.Invalid(p, spec.ScopeSelector, "unsupported scope applied to resource"))
				}
			}
			switch req.ScopeName {
			case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
				corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
				if req.Operator != corev1.ScopeSelectorOpExists {
					allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator,
						"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
				}
			}
			switch req.Operator {
			case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
				if len(req.Values) == 0 {
					allErrs = append(allErrs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
				if len(req.Values) != 0 {
					allErrs = append(allErrs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
			}
			seen.Insert(req.ScopeName)
		}
		conflicting(seen, p, spec.Scopes)
	}
	return allErrs
}

func isStandardQuotaResource(k corev1.ResourceName) bool {
	return standardQuotaResources.Has(string(k)) || isQuotaHugePageResourceName(k)
}

func limitRangeStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default: func(obj runtime.Object) {
			lr := obj.(*corev1.LimitRange)
			for i := range lr.Spec.Limits {
				defaultLimitRangeItem(&lr.Spec.Limits[i])
			}
		},
		Validate: func(obj runtime.Object) field.ErrorList { return validateLimitRange(obj.(*corev1.LimitRange)) },
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			lr, o := obj.(*corev1.LimitRange), old.(*corev1.LimitRange)
			return append(validateObjectMetaUpdate(&lr.ObjectMeta, &o.ObjectMeta, metadataPath), validateLimitRange(lr)...)
		},
	}
}

func defaultLimitRangeItem(item *corev1.LimitRangeItem) {
	for _, l := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
		roundUpResourceList(l)
	}
	if item.Type != corev1.LimitTypeContainer {
		return
	}
	if item.Default == nil {
		item.Default = corev1.ResourceList{}
	}
	if item.DefaultRequest == nil {
		item.DefaultRequest = corev1.ResourceList{}
	}
	for k, v := range item.Max {
		if _, ok := item.Default[k]; !ok {
			item.Default[k] = v.DeepCopy()
		}
	}
	for k, v := range item.Default {
		if _, ok := item.DefaultRequest[k]; !ok {
			item.DefaultRequest[k] = v.DeepCopy()
		}
	}
	for k, v := range item.Min {
		if _, ok := item.DefaultRequest[k]; !ok {
			item.DefaultRequest[k] = v.DeepCopy()
		}
	}
}

func validateLimitRangeTypeName(t corev1.LimitType, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(t)) {
		allErrs = append(allErrs, field.Invalid(fldPath, t, msg))
	}
	if len(allErrs) != 0 {
		return allErrs
	}
	if !strings.Contains(string(t), "/") && t != corev1.LimitTypePod && t != corev1.LimitTypeContainer && t != corev1.LimitTypePersistentVolumeClaim {
		return field.ErrorList{field.Invalid(fldPath, t, "must be a standard limit type or fully qualified")}
	}
	return nil
}

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	allErrs := validateObjectMeta(&lr.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	types := map[corev1.LimitType]bool{}
	fldPath := specPath.Child("limits")
	for i := range lr.Spec.Limits {
		p := fldPath.Index(i)
		limit := &lr.Spec.Limits[i]
		allErrs = append(allErrs, validateLimitRangeTypeName(limit.Type, p.Child("type"))...)
		if types[limit.Type] {
			allErrs = append(allErrs, field.Duplicate(p.Child("type"), limit.Type))
		}
		types[limit.Type] = true
		nameFn := validateResourceName
		if limit.Type == corev1.LimitTypePod || limit.Type == corev1.LimitTypeContainer {
			nameFn = validateContainerResourceName
		}
		keys := sets.New[corev1.ResourceName]()
		collect := func(l corev1.ResourceList, name string) {
			for k := range l {
				allErrs = append(allErrs, nameFn(k, p.Child(name).Key(string(k)))...)
				keys.Insert(k)
			}
		}
		collect(limit.Max, "max")
		collect(limit.Min, "min")
		if limit.Type == corev1.LimitTypePod {
			if len(limit.Default) > 0 {
				allErrs = append(allErrs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(limit.DefaultRequest) > 0 {
				allErrs = append(allErrs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			collect(limit.Default, "default")
			collect(limit.DefaultRequest, "defaultRequest")
		}
		if limit.Type == corev1.LimitTypePersistentVolumeClaim {
			_, minOK := limit.Min[corev1.ResourceStorage]
			_, maxOK := limit.Max[corev1.ResourceStorage]
			if !minOK && !maxOK {
				allErrs = append(allErrs, field.Required(p.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		collect(limit.MaxLimitRequestRatio, "maxLimitRequestRatio")
		for _, k := range sets.List(keys) {
			minQ, minOK := limit.Min[k]
			maxQ, maxOK := limit.Max[k]
			defQ, defOK := limit.Default[k]
			reqQ, reqOK := limit.DefaultRequest[k]
			ratio, ratioOK := limit.MaxLimitRequestRatio[k]
			key := string(k)
			if minOK && maxOK && minQ.Cmp(maxQ) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("min").Key(key), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
			}
			if reqOK && minOK && minQ.Cmp(reqQ) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), reqQ.String())))
			}
			if reqOK && maxOK && reqQ.Cmp(maxQ) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than max value %s", reqQ.String(), maxQ.String())))
			}
			if reqOK && defOK && reqQ.Cmp(defQ) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than default limit value %s", reqQ.String(), defQ.String())))
			}
			if defOK && minOK && minQ.Cmp(defQ) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("default").Key(key), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), defQ.String())))
			}
			if defOK && maxOK && defQ.Cmp(maxQ) > 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("default").Key(key), maxQ, fmt.Sprintf("default value %s is greater than max value %s", defQ.String(), maxQ.String())))
			}
			if ratioOK && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
			}
			if ratioOK && minOK && maxOK {
				r, mn, mx := float64(ratio.Value()), minQ.Value(), maxQ.Value()
				if ratio.Value() < resource.MaxMilliValue && mn < resource.MaxMilliValue && mx < resource.MaxMilliValue {
					r, mn, mx = float64(ratio.MilliValue())/1000, minQ.MilliValue(), maxQ.MilliValue()
				}
				if lim := float64(mx) / float64(mn); r > lim {
					allErrs = append(allErrs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), lim)))
				}
			}
			if !isOvercommitAllowed(k) && defOK && reqOK && defQ.Cmp(reqQ) != 0 {
				allErrs = append(allErrs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", defQ.String(), reqQ.String(), k)))
			}
		}
	}
	return allErrs
}
