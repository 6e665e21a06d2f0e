package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// coreFor returns printers for the core ("") group. LimitRange has no
// printer upstream and falls back to Default.
func coreFor(kind string) *Printer {
	switch kind {
	case "Pod":
		return podPrinter()
	case "PodTemplate":
		return podTemplatePrinter()
	case "Node":
		return nodePrinter()
	case "Namespace":
		return namespacePrinter()
	case "Service":
		return servicePrinter()
	case "Endpoints":
		return endpointsPrinter()
	case "Event":
		return eventPrinter()
	case "ConfigMap":
		return configMapPrinter()
	case "Secret":
		return secretPrinter()
	case "ServiceAccount":
		return serviceAccountPrinter()
	case "ReplicationController":
		return replicationControllerPrinter()
	case "ResourceQuota":
		return resourceQuotaPrinter()
	case "PersistentVolume":
		return persistentVolumePrinter()
	case "PersistentVolumeClaim":
		return persistentVolumeClaimPrinter()
	case "ComponentStatus":
		return componentStatusPrinter()
	}
	return nil
}

func namespacePrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", "The status of the namespace"),
		ageColumn(),
	}
	return typed(cols, func(ns *corev1.Namespace, now time.Time) ([]interface{}, error) {
		return []interface{}{ns.Name, string(ns.Status.Phase), age(ns.CreationTimestamp, now)}, nil
	})
}

func configMapPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Data", "string", corev1.ConfigMap{}.SwaggerDoc()["data"]),
		ageColumn(),
	}
	return typed(cols, func(cm *corev1.ConfigMap, now time.Time) ([]interface{}, error) {
		return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), age(cm.CreationTimestamp, now)}, nil
	})
}

func secretPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Type", "string", corev1.Secret{}.SwaggerDoc()["type"]),
		col("Data", "string", corev1.Secret{}.SwaggerDoc()["data"]),
		ageColumn(),
	}
	return typed(cols, func(s *corev1.Secret, now time.Time) ([]interface{}, error) {
		// Upstream counts the internal Data map, into which conversion
		// merges write-only stringData keys.
		n := len(s.Data)
		for k := range s.StringData {
			if _, ok := s.Data[k]; !ok {
				n++
			}
		}
		return []interface{}{s.Name, string(s.Type), int64(n), age(s.CreationTimestamp, now)}, nil
	})
}

func serviceAccountPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Secrets", "string", corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
		ageColumn(),
	}
	return typed(cols, func(sa *corev1.ServiceAccount, now time.Time) ([]interface{}, error) {
		return []interface{}{sa.Name, int64(len(sa.Secrets)), age(sa.CreationTimestamp, now)}, nil
	})
}

func replicationControllerPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Desired", "integer", corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
		col("Current", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
		col("Ready", "integer", corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
		ageColumn(),
		containersColumn(),
		imagesColumn(),
		wide(col("Selector", "string", corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"])),
	}
	return typed(cols, func(rc *corev1.ReplicationController, now time.Time) ([]interface{}, error) {
		var containers []corev1.Container
		if rc.Spec.Template != nil {
			containers = rc.Spec.Template.Spec.Containers
		}
		names, images := containerCells(containers)
		return []interface{}{
			rc.Name,
			int64(int32PtrValue(rc.Spec.Replicas)),
			int64(rc.Status.Replicas),
			int64(rc.Status.ReadyReplicas),
			age(rc.CreationTimestamp, now),
			names, images, labels.FormatLabels(rc.Spec.Selector),
		}, nil
	})
}

func resourceQuotaPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
		col("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
		ageColumn(),
	}
	return typed(cols, func(rq *corev1.ResourceQuota, now time.Time) ([]interface{}, error) {
		names := make([]string, 0, len(rq.Status.Hard))
		for name := range rq.Status.Hard {
			names = append(names, string(name))
		}
		sort.Strings(names)
		var requests, limits []string
		for _, name := range names {
			used := rq.Status.Used[corev1.ResourceName(name)]
			hard := rq.Status.Hard[corev1.ResourceName(name)]
			cell := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
			if pieces := strings.Split(name, "."); len(pieces) > 1 && pieces[0] == "limits" {
				limits = append(limits, cell)
			} else {
				requests = append(requests, cell)
			}
		}
		return []interface{}{rq.Name, strings.Join(requests, ", "), strings.Join(limits, ", "), age(rq.CreationTimestamp, now)}, nil
	})
}

func componentStatusPrinter() *Printer {
	cols := []metav1.TableColumnDefinition{
		nameColumn(),
		col("Status", "string", "Status of the component conditions"),
		col("Message", "string", "Message of the component conditions"),
		col("Error", "string", "Error of the component conditions"),
	}
	return typed(cols, func(cs *corev1.ComponentStatus, _ time.Time) ([]interface{}, error) {
		status, message, errStr := "Unknown", "", ""
		for _, c := range cs.Conditions {
			if c.Type == corev1.ComponentHealthy {
				if c.Status == corev1.ConditionTrue {
					status = "Healthy"
				} else {
					status = "Unhealthy"
				}
				message, errStr = c.Message, c.Error
				break
			}
		}
		return []interface{}{cs.Name, status, message, errStr}, nil
	})
}
