package apis

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

// Limits on StorageClass fields, as upstream.
const (
	maxProvisionerParameterSize = 256 * (1 << 10) // 256 kB
	maxProvisionerParameterLen  = 512
)

func storageClassStrategy() strategy.Funcs {
	return hooks[*storagev1.StorageClass]{
		defaults: func(c *storagev1.StorageClass) {
			if c.ReclaimPolicy == nil {
				c.ReclaimPolicy = ptrTo(corev1.PersistentVolumeReclaimDelete)
			}
			if c.VolumeBindingMode == nil {
				c.VolumeBindingMode = ptrTo(storagev1.VolumeBindingImmediate)
			}
		},
		validate: validateStorageClass,
		validateUpdate: func(c, old *storagev1.StorageClass) field.ErrorList {
			errs := validateStorageClass(c)
			errs = append(errs, validateObjectMetaUpdate(&c.ObjectMeta, &old.ObjectMeta, metadataPath)...)
			if !semanticEqual(c.Parameters, old.Parameters) {
				errs = append(errs, field.Forbidden(field.NewPath("parameters"), "updates to parameters are forbidden."))
			}
			if c.Provisioner != old.Provisioner {
				errs = append(errs, field.Forbidden(field.NewPath("provisioner"), "updates to provisioner are forbidden."))
			}
			if !semanticEqual(c.ReclaimPolicy, old.ReclaimPolicy) {
				errs = append(errs, field.Forbidden(field.NewPath("reclaimPolicy"), "updates to reclaimPolicy are forbidden."))
			}
			return append(errs, immutable(c.VolumeBindingMode, old.VolumeBindingMode, field.NewPath("volumeBindingMode"))...)
		},
	}.funcs()
}

func validateStorageClass(c *storagev1.StorageClass) field.ErrorList {
	errs := validateObjectMeta(&c.ObjectMeta, false, apivalidation.NameIsDNSSubdomain, metadataPath)
	pp := field.NewPath("provisioner")
	if c.Provisioner == "" {
		errs = append(errs, field.Required(pp, ""))
	} else {
		// A qualified name such as "kubernetes.io/aws-ebs", case-insensitive.
		name := strings.ToLower(c.Provisioner)
		for _, msg := range validation.IsQualifiedName(name) {
			errs = append(errs, field.Invalid(pp, name, msg))
		}
	}
	errs = append(errs, validateProvisionerParameters(c.Parameters, field.NewPath("parameters"))...)
	if c.ReclaimPolicy != nil {
		switch *c.ReclaimPolicy {
		case corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("reclaimPolicy"), *c.ReclaimPolicy, []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}))
		}
	}
	if c.VolumeBindingMode == nil {
		errs = append(errs, field.Required(field.NewPath("volumeBindingMode"), ""))
	} else {
		switch *c.VolumeBindingMode {
		case storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer:
		default:
			errs = append(errs, field.NotSupported(field.NewPath("volumeBindingMode"), *c.VolumeBindingMode, []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}))
		}
	}
	if len(c.AllowedTopologies) > 0 && c.VolumeBindingMode != nil {
		ap := field.NewPath("allowedTopologies")
		for i, term := range c.AllowedTopologies {
			if len(term.MatchLabelExpressions) == 0 {
				errs = append(errs, field.Required(ap.Index(i).Child("matchLabelExpressions"), "must have at least one label expression"))
			}
		}
	}
	return errs
}

func validateProvisionerParameters(params map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(params) > maxProvisionerParameterLen {
		errs = append(errs, field.TooLong(p, "Provisioner Parameters exceeded max allowed", maxProvisionerParameterLen))
		return errs
	}
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(p, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxProvisionerParameterSize {
		errs = append(errs, field.TooLong(p, "", maxProvisionerParameterSize))
	}
	return errs
}
