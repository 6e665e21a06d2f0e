package daemonset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/controllers"
)

// nodeNameField is the node field a daemon pod's affinity pins.
const nodeNameField = "metadata.name"

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.sets.DaemonSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get daemonset %s: %w", key, err)
	}
	if shared.DeletionTimestamp != nil {
		return nil
	}
	ds := shared.DeepCopy()
	hash, err := c.ensureRevision(ctx, ds)
	if err != nil {
		return err
	}
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	byNode := map[string][]*corev1.Pod{}
	objs, _ := c.pods.ByIndex(controllers.OwnerUIDIndex, string(ds.UID))
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if p.DeletionTimestamp != nil {
			continue
		}
		if n := podNodeName(p); n != "" {
			byNode[n] = append(byNode[n], p)
		}
	}
	var create []string
	var remove []*corev1.Pod
	var oldAvailable, oldUnavailable []*corev1.Pod
	st := appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, CollisionCount: ds.Status.CollisionCount}
	now := c.clock.Now()
	nodeNames := map[string]bool{}
	for _, n := range nodes {
		nodeNames[n.Name] = true
		run, keep := shouldRun(ds, n)
		pods := byNode[n.Name]
		if run {
			st.DesiredNumberScheduled++
		}
		if len(pods) > 0 && (run || keep) {
			st.CurrentNumberScheduled++
		} else if len(pods) > 0 {
			st.NumberMisscheduled++
		}
		switch {
		case !keep:
			remove = append(remove, pods...)
			continue
		case run && len(pods) == 0:
			create = append(create, n.Name)
			continue
		case len(pods) == 0:
			continue
		}
		// Failed pods are replaced; of several pods the oldest stays.
		var live []*corev1.Pod
		for _, p := range pods {
			if p.Status.Phase == corev1.PodFailed {
				remove = append(remove, p)
				c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, n.Name)
			} else {
				live = append(live, p)
			}
		}
		sort.Slice(live, func(i, j int) bool { return live[i].CreationTimestamp.Before(&live[j].CreationTimestamp) })
		if len(live) > 1 {
			remove = append(remove, live[1:]...)
			live = live[:1]
		}
		if len(live) == 0 {
			continue
		}
		p := live[0]
		ready := podReady(p)
		available := ready && availableSince(p, ds.Spec.MinReadySeconds, now)
		if ready {
			st.NumberReady++
		}
		if available {
			st.NumberAvailable++
		}
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
			st.UpdatedNumberScheduled++
		} else if available {
			oldAvailable = append(oldAvailable, p)
		} else {
			oldUnavailable = append(oldUnavailable, p)
		}
	}
	// Pods on nodes that no longer exist are deleted.
	for n, pods := range byNode {
		if !nodeNames[n] {
			remove = append(remove, pods...)
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	if ds.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
		remove = append(remove, rollingUpdateVictims(ds, st, oldAvailable, oldUnavailable)...)
	}
	if c.exp.Satisfied(key, now) {
		if err := c.writePods(ctx, key, ds, hash, create, remove); err != nil {
			return err
		}
	}
	if !equality.Semantic.DeepEqual(shared.Status, st) {
		ds.Status = st
		if _, err := c.client.AppsV1().DaemonSets(ns).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of daemonset %s: %w", key, err)
		}
	}
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady > st.NumberAvailable {
		c.queue.AddAfter(key, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	return nil
}

// rollingUpdateVictims picks old-revision pods to delete: every
// unavailable one, and available ones while fewer than maxUnavailable
// nodes lack an available pod.
func rollingUpdateVictims(ds *appsv1.DaemonSet, st appsv1.DaemonSetStatus, oldAvailable, oldUnavailable []*corev1.Pod) []*corev1.Pod {
	maxUnavailable := 1
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, int(st.DesiredNumberScheduled), true)
		if err == nil {
			maxUnavailable = max(v, 1)
		}
	}
	victims := append([]*corev1.Pod(nil), oldUnavailable...)
	budget := maxUnavailable - int(st.NumberUnavailable)
	for _, p := range oldAvailable {
		if budget <= 0 {
			break
		}
		victims = append(victims, p)
		budget--
	}
	return victims
}

func (c *Controller) writePods(ctx context.Context, key string, ds *appsv1.DaemonSet, hash string, create []string, remove []*corev1.Pod) error {
	if len(create) == 0 && len(remove) == 0 {
		return nil
	}
	c.exp.Expect(key, len(create), len(remove), c.clock.Now())
	var errs []error
	for _, node := range create {
		p, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, newPod(ds, hash, node), metav1.CreateOptions{})
		if err != nil {
			c.exp.Observe(key, 1, 0)
			c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
			errs = append(errs, fmt.Errorf("create daemon pod on %s: %w", node, err))
			continue
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: %v", p.Name)
	}
	for _, p := range remove {
		err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
		if err != nil {
			c.exp.Observe(key, 0, 1)
			if !apierrors.IsNotFound(err) {
				c.recorder.Eventf(ds, corev1.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
				errs = append(errs, fmt.Errorf("delete daemon pod %s: %w", p.Name, err))
			}
			continue
		}
		c.recorder.Eventf(ds, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %v", p.Name)
	}
	return errors.Join(errs...)
}

// newPod is the daemon pod for node: the template with the revision
// label, the default daemon tolerations, and a required node affinity
// on the node's name that replaces any required terms of the template
// (the scheduler binds it).
func newPod(ds *appsv1.DaemonSet, hash, node string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	lbls := map[string]string{}
	for k, v := range t.Labels {
		lbls[k] = v
	}
	lbls[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: ds.Name + "-", Namespace: ds.Namespace, Labels: lbls, Annotations: t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))},
		},
		Spec: t.Spec,
	}
	p.Spec.Tolerations = withDaemonTolerations(p.Spec.Tolerations, p.Spec.HostNetwork)
	if p.Spec.Affinity == nil {
		p.Spec.Affinity = &corev1.Affinity{}
	}
	if p.Spec.Affinity.NodeAffinity == nil {
		p.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{
			Key: nodeNameField, Operator: corev1.NodeSelectorOpIn, Values: []string{node},
		}}}},
	}
	return p
}

// withDaemonTolerations adds the tolerations upstream gives every daemon
// pod so that node conditions do not evict or block it (network
// unavailability only for host-network pods, as upstream).
func withDaemonTolerations(tols []corev1.Toleration, hostNetwork bool) []corev1.Toleration {
	add := func(key string, effect corev1.TaintEffect) {
		for _, t := range tols {
			if t.Key == key && t.Effect == effect && t.Operator == corev1.TolerationOpExists {
				return
			}
		}
		tols = append(tols, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect})
	}
	add(corev1.TaintNodeNotReady, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute)
	add(corev1.TaintNodeDiskPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodePIDPressure, corev1.TaintEffectNoSchedule)
	add(corev1.TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)
	if hostNetwork {
		add(corev1.TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)
	}
	return tols
}

// podNodeName is the node a daemon pod runs or is pinned to.
func podNodeName(p *corev1.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, r := range t.MatchFields {
				if r.Key == nodeNameField && r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 {
					return r.Values[0]
				}
			}
		}
	}
	return ""
}

// shouldRun reports whether a new daemon pod belongs on node (run) and
// whether an existing one may stay (keep): nodeSelector and required
// node affinity must match; NoSchedule taints block new pods, NoExecute
// taints also evict, unless tolerated.
func shouldRun(ds *appsv1.DaemonSet, node *corev1.Node) (run, keep bool) {
	spec := &ds.Spec.Template.Spec
	if !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false, false
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		if !matchNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, node) {
			return false, false
		}
	}
	tols := withDaemonTolerations(append([]corev1.Toleration(nil), spec.Tolerations...), spec.HostNetwork)
	run, keep = true, true
	for i := range node.Spec.Taints {
		taint := &node.Spec.Taints[i]
		if taint.Effect == corev1.TaintEffectPreferNoSchedule || tolerated(tols, taint) {
			continue
		}
		run = false
		if taint.Effect == corev1.TaintEffectNoExecute {
			keep = false
		}
	}
	return run, keep
}

func tolerated(tols []corev1.Toleration, taint *corev1.Taint) bool {
	for _, t := range tols {
		if t.Effect != "" && t.Effect != taint.Effect {
			continue
		}
		if t.Key != "" && t.Key != taint.Key {
			continue
		}
		switch t.Operator {
		case corev1.TolerationOpExists:
			return true
		case "", corev1.TolerationOpEqual:
			if t.Key != "" && t.Value == taint.Value {
				return true
			}
		}
	}
	return false
}

// matchNodeSelector ORs the terms; each term ANDs its requirements.
func matchNodeSelector(sel *corev1.NodeSelector, node *corev1.Node) bool {
	for _, t := range sel.NodeSelectorTerms {
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			continue
		}
		if matchRequirements(t.MatchExpressions, labels.Set(node.Labels)) &&
			matchRequirements(t.MatchFields, labels.Set{nodeNameField: node.Name}) {
			return true
		}
	}
	return false
}

func matchRequirements(reqs []corev1.NodeSelectorRequirement, set labels.Set) bool {
	for _, r := range reqs {
		var op selection.Operator
		vals := r.Values
		switch r.Operator {
		case corev1.NodeSelectorOpIn:
			op = selection.In
		case corev1.NodeSelectorOpNotIn:
			op = selection.NotIn
		case corev1.NodeSelectorOpExists:
			op = selection.Exists
		case corev1.NodeSelectorOpDoesNotExist:
			op = selection.DoesNotExist
		case corev1.NodeSelectorOpGt:
			op = selection.GreaterThan
		case corev1.NodeSelectorOpLt:
			op = selection.LessThan
		default:
			return false
		}
		req, err := labels.NewRequirement(r.Key, op, vals)
		if err != nil || !req.Matches(set) {
			return false
		}
	}
	return true
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func availableSince(p *corev1.Pod, minReady int32, now time.Time) bool {
	if minReady == 0 {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return !c.LastTransitionTime.IsZero() && now.Sub(c.LastTransitionTime.Time) >= time.Duration(minReady)*time.Second
		}
	}
	return false
}

// ensureRevision makes sure a ControllerRevision holds the current
// template and returns its hash (the pods' controller-revision-hash).
func (c *Controller) ensureRevision(ctx context.Context, ds *appsv1.DaemonSet) (string, error) {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": templatePatch(&ds.Spec.Template)}})
	if err != nil {
		return "", fmt.Errorf("encode template: %w", err)
	}
	h := fnv.New32a()
	h.Write(patch)
	if ds.Status.CollisionCount != nil {
		h.Write([]byte(strconv.Itoa(int(*ds.Status.CollisionCount))))
	}
	hash := rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
	name := ds.Name + "-" + hash
	objs, _ := c.revisions.ControllerRevisions(ds.Namespace).List(labels.Everything())
	var rev int64
	for _, cr := range objs {
		if ref := metav1.GetControllerOfNoCopy(cr); ref == nil || ref.UID != ds.UID {
			continue
		}
		if cr.Name == name {
			return hash, nil
		}
		rev = max(rev, cr.Revision)
	}
	lbls := map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: hash}
	for k, v := range ds.Spec.Template.Labels {
		lbls[k] = v
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ds.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))},
		},
		Data:     runtime.RawExtension{Raw: patch},
		Revision: rev + 1,
	}
	if _, err := c.client.AppsV1().ControllerRevisions(ds.Namespace).Create(ctx, cr, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create controllerrevision %s/%s: %w", ds.Namespace, name, err)
	}
	return hash, nil
}

// templatePatch is the template as upstream stores it in a revision
// (a replace patch).
func templatePatch(t *corev1.PodTemplateSpec) map[string]any {
	raw, _ := json.Marshal(t)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["$patch"] = "replace"
	return m
}
