package core

import (
	"fmt"
	"path"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"kplane/internal/registry/strategy"
)

func persistentVolumeStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default: func(obj runtime.Object) {
			pv := obj.(*corev1.PersistentVolume)
			if pv.Status.Phase == "" {
				pv.Status.Phase = corev1.VolumePending
			}
			if pv.Spec.PersistentVolumeReclaimPolicy == "" {
				pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
			}
			if pv.Spec.VolumeMode == nil {
				m := corev1.PersistentVolumeFilesystem
				pv.Spec.VolumeMode = &m
			}
			if pv.Spec.HostPath != nil && pv.Spec.HostPath.Type == nil {
				t := corev1.HostPathUnset
				pv.Spec.HostPath.Type = &t
			}
			roundUpResourceList(pv.Spec.Capacity)
		},
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*corev1.PersistentVolume).Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return validatePersistentVolume(obj.(*corev1.PersistentVolume))
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			pv, o := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
			allErrs := validateObjectMetaUpdate(&pv.ObjectMeta, &o.ObjectMeta, metadataPath)
			allErrs = append(allErrs, validatePersistentVolume(pv)...)
			newSrc := pv.Spec.PersistentVolumeSource
			if o.Spec.CSI != nil && o.Spec.CSI.ControllerExpandSecretRef == nil && newSrc.CSI != nil && newSrc.CSI.ControllerExpandSecretRef != nil {
				csi := *newSrc.CSI
				csi.ControllerExpandSecretRef = nil
				newSrc.CSI = &csi
			}
			if !apiequality.Semantic.DeepEqual(newSrc, o.Spec.PersistentVolumeSource) {
				diff := cmp.Diff(o.Spec.PersistentVolumeSource, newSrc)
				allErrs = append(allErrs, field.Forbidden(specPath.Child("persistentvolumesource"), fmt.Sprintf("spec.persistentvolumesource is immutable after creation\n%v", diff)))
			}
			allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(pv.Spec.VolumeMode, o.Spec.VolumeMode, field.NewPath("volumeMode"))...)
			if o.Spec.NodeAffinity != nil && !apiequality.Semantic.DeepEqual(pv.Spec.NodeAffinity, o.Spec.NodeAffinity) {
				allErrs = append(allErrs, field.Invalid(field.NewPath("nodeAffinity"), pv.Spec.NodeAffinity, fieldImmutableErrorMsg+", except for updating from beta label to GA"))
			}
			return allErrs
		},
		ValidateStatusUpdate: func(obj, old runtime.Object) field.ErrorList {
			pv, o := obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume)
			allErrs := validateObjectMetaUpdate(&pv.ObjectMeta, &o.ObjectMeta, metadataPath)
			if pv.ResourceVersion == "" {
				allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
			}
			return allErrs
		},
	}
}

var supportedReclaimPolicies = sets.New(corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain)

func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMeta(&pv.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
	s := &pv.Spec
	if len(s.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(specPath.Child("accessModes"), ""))
	}
	allErrs = append(allErrs, validateAccessModes(s.AccessModes, specPath.Child("accessModes"))...)
	capPath := specPath.Child("capacity")
	if len(s.Capacity) == 0 {
		allErrs = append(allErrs, field.Required(capPath, ""))
	}
	if _, ok := s.Capacity[corev1.ResourceStorage]; !ok || len(s.Capacity) > 1 {
		allErrs = append(allErrs, field.NotSupported(capPath, s.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for r, q := range s.Capacity {
		if q.Value() < 0 {
			allErrs = append(allErrs, field.Invalid(capPath.Key(string(r)), q.Value(), "must be a valid resource quantity"))
		}
		allErrs = append(allErrs, validatePositiveQuantityValue(q, capPath.Key(string(r)))...)
	}
	if s.PersistentVolumeReclaimPolicy != "" && !supportedReclaimPolicies.Has(s.PersistentVolumeReclaimPolicy) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), s.PersistentVolumeReclaimPolicy, sets.List(supportedReclaimPolicies)))
	}
	nodeAffinity := false
	if na := s.NodeAffinity; na != nil {
		if na.Required != nil {
			nodeAffinity = true
			allErrs = append(allErrs, validateNodeSelector(na.Required, false, specPath.Child("nodeAffinity", "required"))...)
		} else {
			allErrs = append(allErrs, field.Required(specPath.Child("nodeAffinity", "required"), "must specify required node constraints"))
		}
	}
	allErrs = append(allErrs, validatePersistentVolumeSource(&s.PersistentVolumeSource, nodeAffinity, specPath)...)
	if s.HostPath != nil && path.Clean(s.HostPath.Path) == "/" && s.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		allErrs = append(allErrs, field.Forbidden(specPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if s.StorageClassName != "" {
		allErrs = append(allErrs, validateName(apimachineryvalidation.NameIsDNSSubdomain, s.StorageClassName, specPath.Child("storageClassName"))...)
	}
	if s.VolumeMode != nil && !supportedVolumeModes.Has(*s.VolumeMode) {
		allErrs = append(allErrs, field.NotSupported(specPath.Child("volumeMode"), *s.VolumeMode, sets.List(supportedVolumeModes)))
	}
	return allErrs
}

// validatePersistentVolumeSource requires exactly one source and validates
// the common ones (hostPath, local, nfs, csi) in depth.
func validatePersistentVolumeSource(s *corev1.PersistentVolumeSource, nodeAffinity bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	n := 0
	add := func(present bool, name string, validate func() field.ErrorList) {
		if !present {
			return
		}
		if n > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 volume type"))
			return
		}
		n++
		if validate != nil {
			allErrs = append(allErrs, validate()...)
		}
	}
	add(s.HostPath != nil, "hostPath", func() field.ErrorList { return validateHostPath(s.HostPath, fldPath.Child("hostPath")) })
	add(s.GCEPersistentDisk != nil, "gcePersistentDisk", nil)
	add(s.AWSElasticBlockStore != nil, "awsElasticBlockStore", nil)
	add(s.Glusterfs != nil, "glusterfs", nil)
	add(s.Flocker != nil, "flocker", nil)
	add(s.NFS != nil, "nfs", func() field.ErrorList {
		p := fldPath.Child("nfs")
		errs := required(s.NFS.Server != "", p.Child("server"))
		errs = append(errs, required(s.NFS.Path != "", p.Child("path"))...)
		if !path.IsAbs(s.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), s.NFS.Path, "must be an absolute path"))
		}
		return errs
	})
	add(s.RBD != nil, "rbd", nil)
	add(s.Quobyte != nil, "quobyte", nil)
	add(s.CephFS != nil, "cephFS", nil)
	add(s.ISCSI != nil, "iscsi", nil)
	add(s.Cinder != nil, "cinder", nil)
	add(s.FC != nil, "fc", nil)
	add(s.FlexVolume != nil, "flexVolume", nil)
	add(s.AzureFile != nil, "azureFile", nil)
	add(s.VsphereVolume != nil, "vsphereVolume", nil)
	add(s.PhotonPersistentDisk != nil, "photonPersistentDisk", nil)
	add(s.PortworxVolume != nil, "portworxVolume", nil)
	add(s.AzureDisk != nil, "azureDisk", nil)
	add(s.ScaleIO != nil, "scaleIO", nil)
	add(s.Local != nil, "local", func() field.ErrorList {
		p := fldPath.Child("local")
		var errs field.ErrorList
		if s.Local.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		} else {
			errs = append(errs, validatePathNoBacksteps(s.Local.Path, p.Child("path"))...)
		}
		if !nodeAffinity {
			errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
		return errs
	})
	add(s.StorageOS != nil, "storageos", nil)
	add(s.CSI != nil, "csi", func() field.ErrorList {
		p := fldPath.Child("csi")
		errs := validateCSIDriverName(s.CSI.Driver, p.Child("driver"))
		return append(errs, required(s.CSI.VolumeHandle != "", p.Child("volumeHandle"))...)
	})
	if n == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a volume type"))
	}
	return allErrs
}

func persistentVolumeClaimStrategy() strategy.Funcs {
	return strategy.Funcs{
		Default: func(obj runtime.Object) {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			if pvc.Status.Phase == "" {
				pvc.Status.Phase = corev1.ClaimPending
			}
			if pvc.Spec.VolumeMode == nil {
				m := corev1.PersistentVolumeFilesystem
				pvc.Spec.VolumeMode = &m
			}
			roundUpResourceList(pvc.Spec.Resources.Requests)
			roundUpResourceList(pvc.Spec.Resources.Limits)
		},
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*corev1.PersistentVolumeClaim).Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			pvc := obj.(*corev1.PersistentVolumeClaim)
			allErrs := validateObjectMeta(&pvc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)
			return append(allErrs, validatePersistentVolumeClaimSpec(&pvc.Spec, specPath)...)
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return validatePersistentVolumeClaimUpdate(obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim))
		},
		ValidateStatusUpdate: func(obj, old runtime.Object) field.ErrorList {
			pvc, o := obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim)
			allErrs := validateObjectMetaUpdate(&pvc.ObjectMeta, &o.ObjectMeta, metadataPath)
			if pvc.ResourceVersion == "" {
				allErrs = append(allErrs, field.Required(field.NewPath("resourceVersion"), ""))
			}
			if len(pvc.Spec.AccessModes) == 0 {
				allErrs = append(allErrs, field.Required(field.NewPath("Spec", "accessModes"), ""))
			}
			for r, q := range pvc.Status.Capacity {
				if q.Value() < 0 {
					allErrs = append(allErrs, field.Invalid(statusPath.Child("capacity").Key(string(r)), q.Value(), "must be a valid resource quantity"))
				}
			}
			return allErrs
		},
	}
}

// validatePersistentVolumeClaimUpdate is upstream's rule: the spec is
// immutable except that volumeName may be set once and, for bound claims,
// the storage request may grow.
func validatePersistentVolumeClaimUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pvc.ObjectMeta, &old.ObjectMeta, metadataPath)
	allErrs = append(allErrs, validateObjectMeta(&pvc.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, metadataPath)...)
	allErrs = append(allErrs, validatePersistentVolumeClaimSpec(&pvc.Spec, specPath)...)
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if old.Spec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if oldSpec.StorageClassName == nil && newSpec.StorageClassName != nil {
		if a, ok := old.Annotations[corev1.BetaStorageClassAnnotation]; !ok || a == *newSpec.StorageClassName {
			newSpec.StorageClassName = nil
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound && newSpec.Resources.Requests != nil {
		if q, ok := old.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
			newSpec.Resources.Requests[corev1.ResourceStorage] = q
		} else {
			delete(newSpec.Resources.Requests, corev1.ResourceStorage)
		}
	}
	if pvc.Status.Phase == corev1.ClaimBound && newSpec.VolumeAttributesClassName != nil {
		newSpec.VolumeAttributesClassName = oldSpec.VolumeAttributesClassName
	}
	if !apiequality.Semantic.DeepEqual(*newSpec, *oldSpec) {
		diff := cmp.Diff(*oldSpec, *newSpec)
		allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", diff)))
	}
	oldSize, newSize := old.Spec.Resources.Requests[corev1.ResourceStorage], pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if newSize.Cmp(oldSize) < 0 {
		statusSize := old.Status.Capacity[corev1.ResourceStorage]
		if newSize.Cmp(statusSize) <= 0 {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(pvc.Spec.VolumeMode, old.Spec.VolumeMode, field.NewPath("volumeMode"))...)
	if old.Spec.VolumeAttributesClassName != nil && !ptrEqual(old.Spec.VolumeAttributesClassName, pvc.Spec.VolumeAttributesClassName) {
		if pvc.Spec.VolumeAttributesClassName == nil {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("volumeAttributesClassName"), "update from non-nil value to nil is forbidden"))
		} else if *pvc.Spec.VolumeAttributesClassName == "" {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("volumeAttributesClassName"), "update from non-nil value to an empty string is forbidden"))
		}
	}
	return allErrs
}
