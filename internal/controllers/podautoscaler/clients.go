package podautoscaler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// metricsSource reads the resource metrics of the pods a selector matches.
type metricsSource interface {
	// PodMetrics returns each pod's usage of resource (milli-units, summed
	// over containers, or of the named container only) and the samples'
	// timestamp.
	PodMetrics(ctx context.Context, namespace string, selector labels.Selector, resource corev1.ResourceName, container string) (map[string]podMetric, time.Time, error)
}

// restMetrics reads metrics.k8s.io/v1beta1 through the controller's
// client (no separate metrics clientset, so it shares the controller's
// credentials, rate limits and transport).
type restMetrics struct {
	client kubernetes.Interface
}

var _ metricsSource = restMetrics{}

// PodMetrics implements metricsSource. A pod lacking the resource for one
// of its containers (or lacking the named container) is left out, as
// upstream's resource metrics client.
func (m restMetrics) PodMetrics(ctx context.Context, namespace string, selector labels.Selector, resource corev1.ResourceName, container string) (map[string]podMetric, time.Time, error) {
	raw, err := m.client.CoreV1().RESTClient().Get().
		AbsPath("/apis/metrics.k8s.io/v1beta1", "namespaces", namespace, "pods").
		Param("labelSelector", selector.String()).
		SetHeader("Accept", "application/json").
		DoRaw(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("unable to fetch metrics from resource metrics API: %w", err)
	}
	var list metricsv1beta1.PodMetricsList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode pod metrics: %w", err)
	}
	if len(list.Items) == 0 {
		return nil, time.Time{}, fmt.Errorf("no metrics returned from resource metrics API")
	}
	out := make(map[string]podMetric, len(list.Items))
	for _, pm := range list.Items {
		var sum int64
		complete, found := len(pm.Containers) > 0, container == ""
		for _, c := range pm.Containers {
			if container != "" && c.Name != container {
				continue
			}
			found = true
			q, ok := c.Usage[resource]
			if !ok {
				complete = false
				break
			}
			sum += q.MilliValue()
		}
		if complete && found {
			out[pm.Name] = podMetric{value: sum, timestamp: pm.Timestamp.Time, window: pm.Window.Duration}
		}
	}
	return out, list.Items[0].Timestamp.Time, nil
}

// scaleTarget reads and writes the scale subresource of an HPA's target.
type scaleTarget interface {
	GetScale(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, namespace string, ref autoscalingv2.CrossVersionObjectReference, s *autoscalingv1.Scale) error
}

// typedScales reaches the scale subresource of the built-in scalable
// kinds through the typed clients: Deployments, ReplicaSets and
// StatefulSets (apps) and ReplicationControllers (core). Upstream finds
// any kind through discovery and the RESTMapper; kplane has no custom
// resources yet.
type typedScales struct {
	client kubernetes.Interface
}

var _ scaleTarget = typedScales{}

func (t typedScales) kind(ref autoscalingv2.CrossVersionObjectReference) (string, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return "", err
	}
	switch k := gv.Group + "/" + ref.Kind; k {
	case "apps/Deployment", "apps/ReplicaSet", "apps/StatefulSet", "/ReplicationController":
		return k, nil
	}
	return "", fmt.Errorf("no matches for kind %q in group %q", ref.Kind, gv.Group)
}

// GetScale implements scaleTarget.
func (t typedScales) GetScale(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference) (*autoscalingv1.Scale, error) {
	k, err := t.kind(ref)
	if err != nil {
		return nil, err
	}
	o := metav1.GetOptions{}
	switch k {
	case "apps/Deployment":
		return t.client.AppsV1().Deployments(ns).GetScale(ctx, ref.Name, o)
	case "apps/ReplicaSet":
		return t.client.AppsV1().ReplicaSets(ns).GetScale(ctx, ref.Name, o)
	case "apps/StatefulSet":
		return t.client.AppsV1().StatefulSets(ns).GetScale(ctx, ref.Name, o)
	default:
		return t.client.CoreV1().ReplicationControllers(ns).GetScale(ctx, ref.Name, o)
	}
}

// UpdateScale implements scaleTarget.
func (t typedScales) UpdateScale(ctx context.Context, ns string, ref autoscalingv2.CrossVersionObjectReference, s *autoscalingv1.Scale) error {
	k, err := t.kind(ref)
	if err != nil {
		return err
	}
	o := metav1.UpdateOptions{}
	switch k {
	case "apps/Deployment":
		_, err = t.client.AppsV1().Deployments(ns).UpdateScale(ctx, ref.Name, s, o)
	case "apps/ReplicaSet":
		_, err = t.client.AppsV1().ReplicaSets(ns).UpdateScale(ctx, ref.Name, s, o)
	case "apps/StatefulSet":
		_, err = t.client.AppsV1().StatefulSets(ns).UpdateScale(ctx, ref.Name, s, o)
	default:
		_, err = t.client.CoreV1().ReplicationControllers(ns).UpdateScale(ctx, ref.Name, s, o)
	}
	return err
}

func milliQuantity(v int64) *resource.Quantity {
	return resource.NewMilliQuantity(v, resource.DecimalSI)
}
