package replicaset

import (
	"reflect"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

func objKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func (c *Controller) enqueue(rs *appsv1.ReplicaSet) {
	c.queue.Add(objKey(rs.Namespace, rs.Name))
}

func (c *Controller) addOwner(obj any) {
	if rs, ok := c.kind.fromObj(obj); ok {
		c.enqueue(rs)
	}
}

// updateOwner syncs on every update: a resync then retries owners whose
// creations failed, and owners with pending expectations skip cheaply.
func (c *Controller) updateOwner(oldObj, curObj any) {
	old, ok1 := c.kind.fromObj(oldObj)
	cur, ok2 := c.kind.fromObj(curObj)
	if !ok1 || !ok2 {
		return
	}
	if old.UID != cur.UID {
		// Deleted and recreated between two events: the old one's
		// expectations must not block the new one.
		c.deleteOwner(cache.DeletedFinalStateUnknown{Key: objKey(old.Namespace, old.Name), Obj: oldObj})
	}
	c.enqueue(cur)
}

func (c *Controller) deleteOwner(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	rs, ok := c.kind.fromObj(obj)
	if !ok {
		return
	}
	key := objKey(rs.Namespace, rs.Name)
	c.exp.forget(key)
	c.queue.Add(key)
}

// resolve returns the owner a controller reference points to, if it is
// of this controller's kind and still the same object.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref.Kind != c.kind.gvk().Kind {
		return nil
	}
	rs, err := c.kind.get(ns, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return nil
	}
	return rs
}

// addPod observes a creation for the pod's owner, or wakes the owners
// that could adopt an orphan.
func (c *Controller) addPod(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (e.g. after a
		// restart): not a creation.
		c.deletePod(pod)
		return
	}
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		rs := c.resolve(pod.Namespace, ref)
		if rs == nil {
			return
		}
		key := objKey(rs.Namespace, rs.Name)
		c.exp.creationObserved(key)
		c.queue.Add(key)
		return
	}
	for _, rs := range c.kind.matching(pod) {
		c.enqueue(rs)
	}
}

// updatePod wakes the pod's old and new owners; a pod that starts
// terminating counts as deleted at once, so replacements start without
// waiting for the kubelet.
func (c *Controller) updatePod(oldObj, curObj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	cur, ok2 := curObj.(*corev1.Pod)
	if !ok1 || !ok2 || cur.ResourceVersion == old.ResourceVersion {
		return // periodic resync
	}
	labelsChanged := !reflect.DeepEqual(cur.Labels, old.Labels)
	if cur.DeletionTimestamp != nil {
		c.deletePod(cur)
		if labelsChanged {
			c.deletePod(old)
		}
		return
	}
	curRef, oldRef := metav1.GetControllerOfNoCopy(cur), metav1.GetControllerOfNoCopy(old)
	refChanged := !reflect.DeepEqual(curRef, oldRef)
	if refChanged && oldRef != nil {
		if rs := c.resolve(old.Namespace, oldRef); rs != nil {
			c.enqueue(rs)
		}
	}
	if curRef != nil {
		rs := c.resolve(cur.Namespace, curRef)
		if rs == nil {
			return
		}
		c.enqueue(rs)
		if !isPodReady(old) && isPodReady(cur) && rs.Spec.MinReadySeconds > 0 {
			// Check availability once minReadySeconds passed (plus a
			// second against clock skew).
			c.queue.AddAfter(objKey(rs.Namespace, rs.Name), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if labelsChanged || refChanged {
		for _, rs := range c.kind.matching(cur) {
			c.enqueue(rs)
		}
	}
}

// deletePod observes a deletion for the pod's owner.
func (c *Controller) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return
	}
	rs := c.resolve(pod.Namespace, ref)
	if rs == nil {
		return
	}
	key := objKey(rs.Namespace, rs.Name)
	c.exp.deletionObserved(key, objKey(pod.Namespace, pod.Name))
	c.queue.Add(key)
}
