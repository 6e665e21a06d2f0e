package statefulset

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/cache"

	"kplane/internal/controllers"
)

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	shared, err := c.sets.StatefulSets(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		c.warned.Delete(key)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get statefulset %s: %w", key, err)
	}
	if shared.DeletionTimestamp != nil {
		return nil
	}
	if len(shared.Spec.VolumeClaimTemplates) > 0 {
		if _, seen := c.warned.LoadOrStore(key, true); !seen {
			c.log.Info("volumeClaimTemplates are not provisioned by kplane; pods get no claims", "statefulset", key)
		}
	}
	set := shared.DeepCopy()
	updateRev, revs, err := c.ensureRevision(ctx, set)
	if err != nil {
		return err
	}
	currentRev := set.Status.CurrentRevision
	if currentRev == "" || revs[currentRev] == nil {
		currentRev = updateRev
	}
	pods := map[int]*corev1.Pod{}
	objs, _ := c.pods.ByIndex(controllers.OwnerUIDIndex, string(set.UID))
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if ord, ok := ordinalOf(set, p); ok {
			pods[ord] = p
		}
	}
	now := c.clock.Now()
	if c.exp.Satisfied(key, now) {
		if err := c.manage(ctx, key, set, pods, revs, currentRev, updateRev); err != nil {
			return err
		}
	}
	st := status(set, pods, currentRev, updateRev, now)
	if !equality.Semantic.DeepEqual(shared.Status, st) {
		set.Status = st
		if _, err := c.client.AppsV1().StatefulSets(ns).UpdateStatus(ctx, set, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update status of statefulset %s: %w", key, err)
		}
	}
	if set.Spec.MinReadySeconds > 0 && st.ReadyReplicas > st.AvailableReplicas {
		c.queue.AddAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second)
	}
	return nil
}

// manage makes one step towards the spec: with OrderedReady it stops at
// the first pod that is missing, unhealthy or terminating; scale-down and
// updates go from the highest ordinal down.
func (c *Controller) manage(ctx context.Context, key string, set *appsv1.StatefulSet, pods map[int]*corev1.Pod,
	revs map[string]*appsv1.ControllerRevision, currentRev, updateRev string) error {
	ordered := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	start, end := startOrdinal(set), startOrdinal(set)+int(replicas(set))
	partition := 0
	rolling := set.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType
	if ru := set.Spec.UpdateStrategy.RollingUpdate; rolling && ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	unhealthy := false
	for ord := start; ord < end; ord++ {
		p := pods[ord]
		switch {
		case p == nil:
			rev := updateRev
			if ord-start < partition || !rolling {
				rev = currentRev
			}
			if err := c.createPod(ctx, key, set, ord, revs[rev]); err != nil {
				return err
			}
			unhealthy = true
		case p.DeletionTimestamp != nil:
			unhealthy = true
		case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
			// A finished pod is deleted and recreated under its name.
			if err := c.deletePod(ctx, key, set, p); err != nil {
				return err
			}
			unhealthy = true
		case !running(p) || !podReady(p):
			unhealthy = true
		default:
			continue
		}
		if ordered {
			return nil
		}
	}
	var condemned []int
	for ord := range pods {
		if ord < start || ord >= end {
			condemned = append(condemned, ord)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(condemned)))
	for _, ord := range condemned {
		p := pods[ord]
		if p.DeletionTimestamp == nil {
			if err := c.deletePod(ctx, key, set, p); err != nil {
				return err
			}
		}
		if ordered {
			return nil
		}
	}
	if !rolling || unhealthy {
		return nil
	}
	// Rolling update: one pod at a time, highest ordinal first, down to
	// the partition.
	for ord := end - 1; ord >= start+partition; ord-- {
		if p := pods[ord]; p != nil && p.Labels[appsv1.StatefulSetRevisionLabel] != updateRev {
			return c.deletePod(ctx, key, set, p)
		}
	}
	return nil
}

func (c *Controller) createPod(ctx context.Context, key string, set *appsv1.StatefulSet, ord int, rev *appsv1.ControllerRevision) error {
	tmpl := set.Spec.Template.DeepCopy()
	if rev != nil {
		if t, err := templateOf(rev); err == nil {
			tmpl = t
		}
	}
	name := fmt.Sprintf("%s-%d", set.Name, ord)
	lbls := map[string]string{}
	for k, v := range tmpl.Labels {
		lbls[k] = v
	}
	lbls[appsv1.StatefulSetPodNameLabel] = name
	lbls[appsv1.PodIndexLabel] = strconv.Itoa(ord)
	if rev != nil {
		lbls[appsv1.StatefulSetRevisionLabel] = rev.Name
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: set.Namespace, Labels: lbls, Annotations: tmpl.Annotations, Finalizers: tmpl.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		},
		Spec: tmpl.Spec,
	}
	p.Spec.Hostname = name
	p.Spec.Subdomain = set.Spec.ServiceName
	c.exp.Expect(key, 1, 0, c.clock.Now())
	_, err := c.client.CoreV1().Pods(set.Namespace).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		c.exp.Observe(key, 1, 0)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %s", name, set.Name, err)
		return fmt.Errorf("create pod %s/%s: %w", set.Namespace, name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", name, set.Name)
	return nil
}

func (c *Controller) deletePod(ctx context.Context, key string, set *appsv1.StatefulSet, p *corev1.Pod) error {
	c.exp.Expect(key, 0, 1, c.clock.Now())
	err := c.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
	if err != nil {
		c.exp.Observe(key, 0, 1)
		if apierrors.IsNotFound(err) {
			return nil
		}
		c.recorder.Eventf(set, corev1.EventTypeWarning, "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %s", p.Name, set.Name, err)
		return fmt.Errorf("delete pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", p.Name, set.Name)
	return nil
}

// status counts the set's pods; the update revision becomes current once
// every replica runs it and is ready.
func status(set *appsv1.StatefulSet, pods map[int]*corev1.Pod, currentRev, updateRev string, now time.Time) appsv1.StatefulSetStatus {
	st := appsv1.StatefulSetStatus{
		ObservedGeneration: set.Generation, CurrentRevision: currentRev, UpdateRevision: updateRev,
		CollisionCount: set.Status.CollisionCount, Conditions: set.Status.Conditions,
	}
	for _, p := range pods {
		st.Replicas++
		if p.DeletionTimestamp == nil && running(p) && podReady(p) {
			st.ReadyReplicas++
			if availableSince(p, set.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
		if p.Labels[appsv1.StatefulSetRevisionLabel] == currentRev {
			st.CurrentReplicas++
		}
		if p.Labels[appsv1.StatefulSetRevisionLabel] == updateRev {
			st.UpdatedReplicas++
		}
	}
	want := replicas(set)
	if st.UpdatedReplicas == want && st.ReadyReplicas == want && st.Replicas == want {
		st.CurrentRevision, st.CurrentReplicas = updateRev, st.UpdatedReplicas
	}
	return st
}

func replicas(set *appsv1.StatefulSet) int32 {
	if set.Spec.Replicas == nil {
		return 1
	}
	return *set.Spec.Replicas
}

func startOrdinal(set *appsv1.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

// ordinalOf parses <set>-<ordinal> names.
func ordinalOf(set *appsv1.StatefulSet, p *corev1.Pod) (int, bool) {
	rest, ok := strings.CutPrefix(p.Name, set.Name+"-")
	if !ok {
		return 0, false
	}
	ord, err := strconv.Atoi(rest)
	if err != nil || ord < 0 || strconv.Itoa(ord) != rest {
		return 0, false
	}
	return ord, true
}

func running(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

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

// ensureRevision makes sure a ControllerRevision named <set>-<hash> holds
// the current template; it returns that name and the set's revisions by
// name.
func (c *Controller) ensureRevision(ctx context.Context, set *appsv1.StatefulSet) (string, map[string]*appsv1.ControllerRevision, error) {
	tmpl := map[string]any{}
	raw, err := json.Marshal(set.Spec.Template)
	if err == nil {
		err = json.Unmarshal(raw, &tmpl)
	}
	if err != nil {
		return "", nil, fmt.Errorf("encode template: %w", err)
	}
	tmpl["$patch"] = "replace"
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": tmpl}})
	if err != nil {
		return "", nil, fmt.Errorf("encode template: %w", err)
	}
	h := fnv.New32a()
	h.Write(patch)
	if set.Status.CollisionCount != nil {
		h.Write([]byte(strconv.Itoa(int(*set.Status.CollisionCount))))
	}
	name := set.Name + "-" + rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
	objs, _ := c.revisions.ControllerRevisions(set.Namespace).List(labels.Everything())
	revs := map[string]*appsv1.ControllerRevision{}
	var maxRev int64
	for _, cr := range objs {
		if ref := metav1.GetControllerOfNoCopy(cr); ref != nil && ref.UID == set.UID {
			revs[cr.Name] = cr
			maxRev = max(maxRev, cr.Revision)
		}
	}
	if revs[name] != nil {
		return name, revs, nil
	}
	lbls := map[string]string{appsv1.ControllerRevisionHashLabelKey: strings.TrimPrefix(name, set.Name+"-")}
	for k, v := range set.Spec.Template.Labels {
		lbls[k] = v
	}
	cr := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: set.Namespace, Labels: lbls,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(set, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))},
		},
		Data: runtime.RawExtension{Raw: patch}, Revision: maxRev + 1,
	}
	created, err := c.client.AppsV1().ControllerRevisions(set.Namespace).Create(ctx, cr, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", nil, fmt.Errorf("create controllerrevision %s/%s: %w", set.Namespace, name, err)
	}
	if created != nil {
		revs[name] = created
	} else {
		revs[name] = cr
	}
	return name, revs, nil
}

// templateOf decodes the pod template a revision stores.
func templateOf(cr *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var data struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(cr.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("decode controllerrevision %s: %w", cr.Name, err)
	}
	return &data.Spec.Template, nil
}
