package replicaset

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// kind adapts one workload API to the ReplicaSet view the controller works
// on. Views returned by get, matching and fromObj may share memory with
// the informer cache and must not be modified.
type kind interface {
	// gvk is the kind written into ownerReferences and events.
	gvk() schema.GroupVersionKind
	// informer is the shared informer of the kind.
	informer() cache.SharedIndexInformer
	// fromObj converts an informer object; ok is false for other types.
	fromObj(obj any) (rs *appsv1.ReplicaSet, ok bool)
	// get returns the cached object ns/name.
	get(ns, name string) (*appsv1.ReplicaSet, error)
	// matching returns the cached objects of pod's namespace whose
	// selector matches pod's labels.
	matching(pod *corev1.Pod) []*appsv1.ReplicaSet
	// getFresh reads ns/name from the API server, bypassing the cache.
	getFresh(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error)
	// updateStatus writes rs.Status through the status subresource.
	updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error)
	// terminatingReplicas reports whether the kind's status has the
	// terminatingReplicas field (ReplicaSet has, ReplicationController
	// has not).
	terminatingReplicas() bool
}

// replicaSets is the kind adapter of apps/v1 ReplicaSet.
type replicaSets struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister appslisters.ReplicaSetLister
}

var _ kind = (*replicaSets)(nil)

func newReplicaSets(client kubernetes.Interface, f informers.SharedInformerFactory) *replicaSets {
	i := f.Apps().V1().ReplicaSets()
	return &replicaSets{client: client, inf: i.Informer(), lister: i.Lister()}
}

func (k *replicaSets) gvk() schema.GroupVersionKind {
	return appsv1.SchemeGroupVersion.WithKind("ReplicaSet")
}
func (k *replicaSets) informer() cache.SharedIndexInformer { return k.inf }
func (k *replicaSets) terminatingReplicas() bool           { return true }

func (k *replicaSets) fromObj(obj any) (*appsv1.ReplicaSet, bool) {
	rs, ok := obj.(*appsv1.ReplicaSet)
	return rs, ok
}

func (k *replicaSets) get(ns, name string) (*appsv1.ReplicaSet, error) {
	return k.lister.ReplicaSets(ns).Get(name)
}

func (k *replicaSets) matching(pod *corev1.Pod) []*appsv1.ReplicaSet {
	rss, err := k.lister.GetPodReplicaSets(pod)
	if err != nil {
		return nil
	}
	return rss
}

func (k *replicaSets) getFresh(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	rs, err := k.client.AppsV1().ReplicaSets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get replicaset %s/%s: %w", ns, name, err)
	}
	return rs, nil
}

func (k *replicaSets) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	out, err := k.client.AppsV1().ReplicaSets(rs.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status of replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return out, nil
}

// replicationControllers is the kind adapter of v1 ReplicationController:
// objects are converted to the ReplicaSet view on the way in and back on
// the way out.
type replicationControllers struct {
	client kubernetes.Interface
	inf    cache.SharedIndexInformer
	lister corelisters.ReplicationControllerLister
}

var _ kind = (*replicationControllers)(nil)

func newReplicationControllers(client kubernetes.Interface, f informers.SharedInformerFactory) *replicationControllers {
	i := f.Core().V1().ReplicationControllers()
	return &replicationControllers{client: client, inf: i.Informer(), lister: i.Lister()}
}

func (k *replicationControllers) gvk() schema.GroupVersionKind {
	return corev1.SchemeGroupVersion.WithKind("ReplicationController")
}
func (k *replicationControllers) informer() cache.SharedIndexInformer { return k.inf }
func (k *replicationControllers) terminatingReplicas() bool           { return false }

func (k *replicationControllers) fromObj(obj any) (*appsv1.ReplicaSet, bool) {
	rc, ok := obj.(*corev1.ReplicationController)
	if !ok {
		return nil, false
	}
	return rcToRS(rc), true
}

func (k *replicationControllers) get(ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := k.lister.ReplicationControllers(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return rcToRS(rc), nil
}

func (k *replicationControllers) matching(pod *corev1.Pod) []*appsv1.ReplicaSet {
	rcs, err := k.lister.GetPodControllers(pod)
	if err != nil {
		return nil
	}
	out := make([]*appsv1.ReplicaSet, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, rcToRS(rc))
	}
	return out
}

func (k *replicationControllers) getFresh(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	rc, err := k.client.CoreV1().ReplicationControllers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get replicationcontroller %s/%s: %w", ns, name, err)
	}
	return rcToRS(rc), nil
}

func (k *replicationControllers) updateStatus(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	rc, err := k.client.CoreV1().ReplicationControllers(rs.Namespace).UpdateStatus(ctx, rsToRC(rs), metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("update status of replicationcontroller %s/%s: %w", rs.Namespace, rs.Name, err)
	}
	return rcToRS(rc), nil
}

// rcToRS views rc as a ReplicaSet. The view shares rc's maps and slices.
func rcToRS(rc *corev1.ReplicationController) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ReplicationController"},
		ObjectMeta: rc.ObjectMeta,
		Spec: appsv1.ReplicaSetSpec{
			Replicas:        rc.Spec.Replicas,
			MinReadySeconds: rc.Spec.MinReadySeconds,
		},
		Status: appsv1.ReplicaSetStatus{
			Replicas:             rc.Status.Replicas,
			FullyLabeledReplicas: rc.Status.FullyLabeledReplicas,
			ReadyReplicas:        rc.Status.ReadyReplicas,
			AvailableReplicas:    rc.Status.AvailableReplicas,
			ObservedGeneration:   rc.Status.ObservedGeneration,
		},
	}
	if rc.Spec.Selector != nil {
		rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: rc.Spec.Selector}
	}
	if rc.Spec.Template != nil {
		rs.Spec.Template = *rc.Spec.Template
	}
	for _, c := range rc.Status.Conditions {
		rs.Status.Conditions = append(rs.Status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rs
}

// rsToRC converts a view made by rcToRS back.
func rsToRC(rs *appsv1.ReplicaSet) *corev1.ReplicationController {
	rc := &corev1.ReplicationController{
		ObjectMeta: rs.ObjectMeta,
		Spec: corev1.ReplicationControllerSpec{
			Replicas:        rs.Spec.Replicas,
			MinReadySeconds: rs.Spec.MinReadySeconds,
		},
		Status: corev1.ReplicationControllerStatus{
			Replicas:             rs.Status.Replicas,
			FullyLabeledReplicas: rs.Status.FullyLabeledReplicas,
			ReadyReplicas:        rs.Status.ReadyReplicas,
			AvailableReplicas:    rs.Status.AvailableReplicas,
			ObservedGeneration:   rs.Status.ObservedGeneration,
		},
	}
	if rs.Spec.Selector != nil {
		rc.Spec.Selector = rs.Spec.Selector.MatchLabels
	}
	tmpl := rs.Spec.Template
	rc.Spec.Template = &tmpl
	for _, c := range rs.Status.Conditions {
		rc.Status.Conditions = append(rc.Status.Conditions, corev1.ReplicationControllerCondition{
			Type: corev1.ReplicationControllerConditionType(c.Type), Status: c.Status,
			LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
		})
	}
	return rc
}
