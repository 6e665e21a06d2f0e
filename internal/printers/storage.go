package printers

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// betaStorageClassAnnotation is the legacy way to name a volume's class;
	// when present it wins over spec.storageClassName.
	betaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"
	// Annotations marking the cluster's default StorageClass.
	isDefaultStorageClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	betaIsDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

// storageFor returns printers for storage.k8s.io.
func storageFor(kind string) *Printer {
	switch kind {
	case "StorageClass":
		return storageClassPrinter()
	case "CSINode":
		return csiNodePrinter()
	case "VolumeAttachment":
		return volumeAttachmentPrinter()
	}
	return nil
}

// accessModes renders access modes as RWO,ROX,RWX,RWOP in that fixed
// order, ignoring duplicates and unknown modes.
func accessModes(modes []corev1.PersistentVolumeAccessMode) string {
	has := func(m corev1.PersistentVolumeAccessMode) bool {
		for _, x := range modes {
			if x == m {
				return true
			}
		}
		return false
	}
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"},
		{corev1.ReadOnlyMany, "ROX"},
		{corev1.ReadWriteMany, "RWX"},
		{corev1.ReadWriteOncePod, "RWOP"},
	} {
		if has(m.mode) {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

func persistentVolumePrinter() *Printer {
	spec := corev1.PersistentVolumeSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Capacity", "string", spec["capacity"]),
		col("Access Modes", "string", spec["accessModes"]),
		col("Reclaim Policy", "string", spec["persistentVolumeReclaimPolicy"]),
		col("Status", "string", status["phase"]),
		col("Claim", "string", spec["claimRef"]),
		col("StorageClass", "string", "StorageClass of the pv"),
		col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
		col("Reason", "string", status["reason"]),
		ageColumn(),
		wide(col("VolumeMode", "string", spec["volumeMode"])),
	}
	return typed(cols, func(pv *corev1.PersistentVolume, now time.Time) ([]interface{}, error) {
		claim := ""
		if pv.Spec.ClaimRef != nil {
			claim = pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
		}
		capacity := pv.Spec.Capacity[corev1.ResourceStorage]
		phase := string(pv.Status.Phase)
		if pv.DeletionTimestamp != nil {
			phase = "Terminating"
		}
		class, ok := pv.Annotations[betaStorageClassAnnotation]
		if !ok {
			class = pv.Spec.StorageClassName
		}
		vac := unset
		if pv.Spec.VolumeAttributesClassName != nil {
			vac = *pv.Spec.VolumeAttributesClassName
		}
		volumeMode := unset
		if pv.Spec.VolumeMode != nil {
			volumeMode = string(*pv.Spec.VolumeMode)
		}
		return []interface{}{
			pv.Name, capacity.String(), accessModes(pv.Spec.AccessModes),
			string(pv.Spec.PersistentVolumeReclaimPolicy), phase, claim, class, vac,
			pv.Status.Reason, age(pv.CreationTimestamp, now), volumeMode,
		}, nil
	})
}

func persistentVolumeClaimPrinter() *Printer {
	spec := corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()
	status := corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", status["phase"]),
		col("Volume", "string", spec["volumeName"]),
		col("Capacity", "string", status["capacity"]),
		col("Access Modes", "string", status["accessModes"]),
		col("StorageClass", "string", "StorageClass of the pvc"),
		col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
		ageColumn(),
		wide(col("VolumeMode", "string", spec["volumeMode"])),
	}
	return typed(cols, func(pvc *corev1.PersistentVolumeClaim, now time.Time) ([]interface{}, error) {
		phase := string(pvc.Status.Phase)
		if pvc.DeletionTimestamp != nil {
			phase = "Terminating"
		}
		// Capacity and access modes are only meaningful once bound.
		capacity, modes := "", ""
		if pvc.Spec.VolumeName != "" {
			modes = accessModes(pvc.Status.AccessModes)
			q := pvc.Status.Capacity[corev1.ResourceStorage]
			capacity = q.String()
		}
		class, ok := pvc.Annotations[betaStorageClassAnnotation]
		if !ok {
			class = ""
			if pvc.Spec.StorageClassName != nil {
				class = *pvc.Spec.StorageClassName
			}
		}
		vac := unset
		if pvc.Spec.VolumeAttributesClassName != nil {
			vac = *pvc.Spec.VolumeAttributesClassName
		}
		volumeMode := unset
		if pvc.Spec.VolumeMode != nil {
			volumeMode = string(*pvc.Spec.VolumeMode)
		}
		return []interface{}{
			pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class, vac,
			age(pvc.CreationTimestamp, now), volumeMode,
		}, nil
	})
}

func storageClassPrinter() *Printer {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Provisioner", "string", doc["provisioner"]),
		col("ReclaimPolicy", "string", doc["reclaimPolicy"]),
		col("VolumeBindingMode", "string", doc["volumeBindingMode"]),
		col("AllowVolumeExpansion", "string", doc["allowVolumeExpansion"]),
		ageColumn(),
	}
	return typed(cols, func(sc *storagev1.StorageClass, now time.Time) ([]interface{}, error) {
		name := sc.Name
		if sc.Annotations[isDefaultStorageClassAnnotation] == "true" || sc.Annotations[betaIsDefaultStorageClassAnnotation] == "true" {
			name += " (default)"
		}
		reclaim := string(corev1.PersistentVolumeReclaimDelete)
		if sc.ReclaimPolicy != nil {
			reclaim = string(*sc.ReclaimPolicy)
		}
		binding := string(storagev1.VolumeBindingImmediate)
		if sc.VolumeBindingMode != nil {
			binding = string(*sc.VolumeBindingMode)
		}
		expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
		return []interface{}{name, sc.Provisioner, reclaim, binding, expansion, age(sc.CreationTimestamp, now)}, nil
	})
}

func csiNodePrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
		ageColumn(),
	}
	return typed(cols, func(n *storagev1.CSINode, now time.Time) ([]interface{}, error) {
		return []interface{}{n.Name, int64(len(n.Spec.Drivers)), age(n.CreationTimestamp, now)}, nil
	})
}

func volumeAttachmentPrinter() *Printer {
	attacher := col("Attacher", "string", storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"])
	attacher.Format = "name"
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		attacher,
		col("PV", "string", storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
		col("Node", "string", storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]),
		col("Attached", "boolean", storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]),
		ageColumn(),
	}
	return typed(cols, func(va *storagev1.VolumeAttachment, now time.Time) ([]interface{}, error) {
		pv := ""
		if va.Spec.Source.PersistentVolumeName != nil {
			pv = *va.Spec.Source.PersistentVolumeName
		}
		return []interface{}{va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, age(va.CreationTimestamp, now)}, nil
	})
}
