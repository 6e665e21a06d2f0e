package apis

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// Priority classes that exist in every cluster; only they may use the
// reserved "system-" prefix and values above highestUserPriority.
const (
	systemClusterCritical = "system-cluster-critical"
	systemNodeCritical    = "system-node-critical"
	highestUserPriority   = int32(1000000000)
	systemCriticalValue   = 2 * highestUserPriority
	systemPriorityPrefix  = "system-"
)

// systemPriorityClass is a built-in class and its fixed settings.
type systemPriorityClass struct {
	value         int32
	globalDefault bool
}

// systemPriorityClasses returns the built-in classes by name.
func systemPriorityClasses() map[string]systemPriorityClass {
	return map[string]systemPriorityClass{
		systemClusterCritical: {value: systemCriticalValue},
		systemNodeCritical:    {value: systemCriticalValue + 1000},
	}
}

// knownSystemPriorityClass reports why a system- prefixed class is not one
// of the built-in ones (upstream's IsKnownSystemPriorityClass).
func knownSystemPriorityClass(name string, value int32, globalDefault bool) error {
	spc, ok := systemPriorityClasses()[name]
	switch {
	case !ok:
		return fmt.Errorf("%v is not a known system priority class", name)
	case spc.value != value:
		return fmt.Errorf("value of %v PriorityClass must be %v", name, spc.value)
	case spc.globalDefault != globalDefault:
		return fmt.Errorf("globalDefault of %v PriorityClass must be %v", name, spc.globalDefault)
	}
	return nil
}

func priorityClassStrategy() strategy.Funcs {
	return hooks[*schedulingv1.PriorityClass]{
		defaults: func(pc *schedulingv1.PriorityClass) {
			if pc.PreemptionPolicy == nil {
				pc.PreemptionPolicy = ptrTo(corev1.PreemptLowerPriority)
			}
		},
		validate: validatePriorityClass,
		validateUpdate: func(pc, old *schedulingv1.PriorityClass) field.ErrorList {
			errs := validateObjectMetaUpdate(&pc.ObjectMeta, &old.ObjectMeta, metadataPath)
			if pc.Value != old.Value {
				errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
			}
			return append(errs, immutable(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
		},
	}.funcs()
}

func validatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	errs := validateObjectMeta(&pc.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, metadataPath)
	if strings.HasPrefix(pc.Name, systemPriorityPrefix) {
		if err := knownSystemPriorityClass(pc.Name, pc.Value, pc.GlobalDefault); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"), "priority class names with '"+systemPriorityPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > highestUserPriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserPriority)))
	}
	if pol := pc.PreemptionPolicy; pol != nil {
		switch *pol {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		case "":
			errs = append(errs, field.Required(field.NewPath("preemptionPolicy"), ""))
		default:
			errs = append(errs, field.NotSupported(field.NewPath("preemptionPolicy"), *pol, []string{string(corev1.PreemptLowerPriority), string(corev1.PreemptNever)}))
		}
	}
	return errs
}
