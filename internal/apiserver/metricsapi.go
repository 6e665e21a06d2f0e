package apiserver

import (
	"context"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"kplane/internal/registry"
	"kplane/internal/storage"
	"kplane/internal/usage"
)

// metricsGroup is the resource metrics API upstream clusters get from
// metrics-server through the aggregator. kplane serves it itself, from
// the simulated usage model (package usage) applied to the stored pods,
// so `kubectl top` and the horizontal pod autoscaler work without
// kubelets: nodes and pods, get and list (with label and field
// selectors), no watch, as metrics-server.
const metricsGroup = "metrics.k8s.io"

// metricsResources are the read-only metrics.k8s.io/v1beta1 resources.
func (s *Server) metricsResources() []*served {
	mk := func(resource, singular, kind string, namespaced bool, newObj, newList func() runtime.Object) *served {
		return &served{res: &registry.Resource{
			Group: metricsGroup, Version: "v1beta1", Resource: resource, Kind: kind, ListKind: kind + "List", Singular: singular,
			Namespaced: namespaced, New: newObj, NewList: newList, Verbs: []string{"get", "list"},
			StorageKind: schema.GroupVersionKind{Group: metricsGroup, Version: "v1beta1", Kind: kind},
		}}
	}
	return []*served{
		mk("nodes", "node", "NodeMetrics", false,
			func() runtime.Object { return &metricsv1beta1.NodeMetrics{} }, func() runtime.Object { return &metricsv1beta1.NodeMetricsList{} }),
		mk("pods", "pod", "PodMetrics", true,
			func() runtime.Object { return &metricsv1beta1.PodMetrics{} }, func() runtime.Object { return &metricsv1beta1.PodMetricsList{} }),
	}
}

// serveMetrics answers get and list on metrics.k8s.io resources.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo) {
	if ri.Subresource != "" {
		s.writeError(w, r, errPathNotFound())
		return
	}
	if ri.Verb != "get" && ri.Verb != "list" {
		s.writeError(w, r, apierrors.NewMethodNotSupported(sv.res.QualifiedResource(), ri.Verb))
		return
	}
	if !sv.res.Namespaced && ri.Namespace != "" || sv.res.Namespaced && ri.Verb == "get" && ri.Namespace == "" {
		s.writeError(w, r, errPathNotFound())
		return
	}
	now := time.Now()
	if ri.Verb == "get" {
		var (
			obj runtime.Object
			err error
		)
		if sv.res.Resource == "nodes" {
			obj, err = s.nodeMetrics(r.Context(), ri.Name, now)
		} else {
			obj, err = s.podMetrics(r.Context(), ri.Namespace, ri.Name, now)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.respond(w, r, sv, http.StatusOK, obj)
		return
	}
	p, err := parseListParams(r, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), true)
	if !ok {
		s.writeError(w, r, s.notAcceptable())
		return
	}
	var items []runtime.Object
	if sv.res.Resource == "nodes" {
		items, err = s.listNodeMetrics(r.Context(), p.sel, now)
	} else {
		items, err = s.listPodMetrics(r.Context(), ri.Namespace, p.sel, now)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.as != "" {
		out, err := s.transform(r, sv, t, items, &listMeta{}, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeObject(w, r, http.StatusOK, t, out)
		return
	}
	list, err := newServedList(sv, items, listMeta{})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeObject(w, r, http.StatusOK, t, list)
}

// anyRV reads lists at resourceVersion "0": metrics are a sample, and a
// watch-cache read is much cheaper than a quorum read of every pod.
var anyRV = storage.ListOptions{ResourceVersion: "0"}

func (s *Server) podMetrics(ctx context.Context, ns, name string, now time.Time) (runtime.Object, error) {
	obj, err := s.resources["/v1/pods"].rest.Get(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: metricsGroup, Resource: "pods"}, name)
	}
	if err != nil {
		return nil, err
	}
	pm, ok := s.podMetricsOf(obj.(*corev1.Pod), now)
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: metricsGroup, Resource: "pods"}, name)
	}
	return pm, nil
}

// listPodMetrics lists the Running pods the selection matches (label
// selectors see the pod's labels, field selectors the pod's fields, as
// metrics-server) and reports their usage.
func (s *Server) listPodMetrics(ctx context.Context, ns string, sel registry.Selection, now time.Time) ([]runtime.Object, error) {
	res, err := s.resources["/v1/pods"].rest.List(ctx, ns, sel, anyRV)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Object, 0, len(res.Items))
	for _, it := range res.Items {
		if pm, ok := s.podMetricsOf(it.(*corev1.Pod), now); ok {
			out = append(out, pm)
		}
	}
	return out, nil
}

func (s *Server) podMetricsOf(pod *corev1.Pod, now time.Time) (*metricsv1beta1.PodMetrics, bool) {
	m := s.usageModel()
	cs, ok, err := m.Pod(pod, now)
	if !ok {
		return nil, false
	}
	if err != nil {
		s.log.Debug("usage annotations ignored", "err", err)
	}
	pm := &metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels, CreationTimestamp: metav1.NewTime(now)},
		Timestamp:  metav1.NewTime(m.WindowStart(now)), Window: metav1.Duration{Duration: m.Window()},
		Containers: make([]metricsv1beta1.ContainerMetrics, len(cs)),
	}
	for i, c := range cs {
		pm.Containers[i] = metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: c.ResourceList()}
	}
	return pm, true
}

func (s *Server) nodeMetrics(ctx context.Context, name string, now time.Time) (runtime.Object, error) {
	obj, err := s.resources["/v1/nodes"].rest.Get(ctx, "", name)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: metricsGroup, Resource: "nodes"}, name)
	}
	if err != nil {
		return nil, err
	}
	res, err := s.resources["/v1/pods"].rest.List(ctx, "", registry.Selection{Fields: fields.OneTermEqualSelector("spec.nodeName", name)}, anyRV)
	if err != nil {
		return nil, err
	}
	pods := make([]*corev1.Pod, len(res.Items))
	for i, it := range res.Items {
		pods[i] = it.(*corev1.Pod)
	}
	return s.nodeMetricsOf(obj.(*corev1.Node), pods, now), nil
}

// listNodeMetrics reports every node the selection matches. Node usage
// needs every pod, so this reads all pods once (a cluster-scoped list).
func (s *Server) listNodeMetrics(ctx context.Context, sel registry.Selection, now time.Time) ([]runtime.Object, error) {
	nodes, err := s.resources["/v1/nodes"].rest.List(ctx, "", sel, anyRV)
	if err != nil || len(nodes.Items) == 0 {
		return nil, err
	}
	pods, err := s.resources["/v1/pods"].rest.List(ctx, "", registry.Selection{}, anyRV)
	if err != nil {
		return nil, err
	}
	byNode := map[string][]*corev1.Pod{}
	for _, it := range pods.Items {
		p := it.(*corev1.Pod)
		if usage.Running(p) {
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
		}
	}
	out := make([]runtime.Object, 0, len(nodes.Items))
	for _, it := range nodes.Items {
		n := it.(*corev1.Node)
		out = append(out, s.nodeMetricsOf(n, byNode[n.Name], now))
	}
	return out, nil
}

func (s *Server) nodeMetricsOf(node *corev1.Node, pods []*corev1.Pod, now time.Time) *metricsv1beta1.NodeMetrics {
	m := s.usageModel()
	u := m.Node(node.Name, pods, now)
	return &metricsv1beta1.NodeMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: metav1.NewTime(now)},
		Timestamp:  metav1.NewTime(m.WindowStart(now)), Window: metav1.Duration{Duration: m.Window()},
		Usage: u.ResourceList(),
	}
}

// usageModel is the configured model (Config.Usage, defaulted).
func (s *Server) usageModel() *usage.Model { return s.cfg.Usage }
