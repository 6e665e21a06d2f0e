package printers

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// appsFor returns printers for the apps group.
func appsFor(kind string) *Printer {
	switch kind {
	case "ReplicaSet":
		return replicaSetPrinter()
	case "Deployment":
		return deploymentPrinter()
	case "StatefulSet":
		return statefulSetPrinter()
	case "DaemonSet":
		return daemonSetPrinter()
	case "ControllerRevision":
		return controllerRevisionPrinter()
	}
	return nil
}

func replicaSetPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Desired", "integer", extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
		col("Current", "integer", extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
		col("Ready", "integer", extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
		wide(col("Selector", "string", extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["selector"])),
	}
	return typed(cols, func(rs *appsv1.ReplicaSet, now time.Time) ([]interface{}, error) {
		names, images := containerCells(rs.Spec.Template.Spec.Containers)
		return []interface{}{
			rs.Name,
			int64(int32PtrValue(rs.Spec.Replicas)),
			int64(rs.Status.Replicas),
			int64(rs.Status.ReadyReplicas),
			age(rs.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
		}, nil
	})
}

func deploymentPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Ready", "string", "Number of the pod with ready state"),
		col("Up-to-date", "string", extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
		col("Available", "string", extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
		wide(col("Selector", "string", extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"])),
	}
	return typed(cols, func(d *appsv1.Deployment, now time.Time) ([]interface{}, error) {
		// Unlike the other workloads, upstream prints the raw selector
		// here: "" for none, "<invalid>" when it cannot be parsed.
		selector := "<invalid>"
		if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
			selector = s.String()
		}
		names, images := containerCells(d.Spec.Template.Spec.Containers)
		return []interface{}{
			d.Name,
			fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, int32PtrValue(d.Spec.Replicas)),
			int64(d.Status.UpdatedReplicas),
			int64(d.Status.AvailableReplicas),
			age(d.CreationTimestamp, now),
			names, images, selector,
		}, nil
	})
}

func statefulSetPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Ready", "string", "Number of the pod with ready state"),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
	}
	return typed(cols, func(ss *appsv1.StatefulSet, now time.Time) ([]interface{}, error) {
		names, images := containerCells(ss.Spec.Template.Spec.Containers)
		return []interface{}{
			ss.Name,
			fmt.Sprintf("%d/%d", ss.Status.ReadyReplicas, int32PtrValue(ss.Spec.Replicas)),
			age(ss.CreationTimestamp, now),
			names, images,
		}, nil
	})
}

func daemonSetPrinter() *Printer {
	status := extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Desired", "integer", status["desiredNumberScheduled"]),
		col("Current", "integer", status["currentNumberScheduled"]),
		col("Ready", "integer", status["numberReady"]),
		col("Up-to-date", "integer", status["updatedNumberScheduled"]),
		col("Available", "integer", status["numberAvailable"]),
		col("Node Selector", "string", corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
		wide(col("Selector", "string", extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"])),
	}
	return typed(cols, func(ds *appsv1.DaemonSet, now time.Time) ([]interface{}, error) {
		names, images := containerCells(ds.Spec.Template.Spec.Containers)
		return []interface{}{
			ds.Name,
			int64(ds.Status.DesiredNumberScheduled),
			int64(ds.Status.CurrentNumberScheduled),
			int64(ds.Status.NumberReady),
			int64(ds.Status.UpdatedNumberScheduled),
			int64(ds.Status.NumberAvailable),
			labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
			age(ds.CreationTimestamp, now),
			names, images, metav1.FormatLabelSelector(ds.Spec.Selector),
		}, nil
	})
}

func controllerRevisionPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Controller", "string", "Controller of the object"),
		col("Revision", "string", appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]),
		ageColumn(),
	}
	return typed(cols, func(cr *appsv1.ControllerRevision, now time.Time) ([]interface{}, error) {
		controller := none
		if ref := metav1.GetControllerOf(cr); ref != nil {
			gv, err := schema.ParseGroupVersion(ref.APIVersion)
			if err != nil {
				return nil, fmt.Errorf("controller revision %s/%s: owner apiVersion: %w", cr.Namespace, cr.Name, err)
			}
			controller = kindName(gv.WithKind(ref.Kind).GroupKind(), ref.Name)
		}
		return []interface{}{cr.Name, controller, cr.Revision, age(cr.CreationTimestamp, now)}, nil
	})
}

// kindName renders "kind.group/name" in lower case, or just the name when
// the kind is empty (upstream's formatResourceName with withKind).
func kindName(gk schema.GroupKind, name string) string {
	if gk.Empty() {
		return name
	}
	return strings.ToLower(gk.String()) + "/" + name
}
