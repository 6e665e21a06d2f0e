package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"kplane/internal/scheduler/framework"
)

func assigned(name, node string) *corev1.Pod {
	p := benchPod(1, 0)
	p.Name, p.UID, p.Spec.NodeName = name, types.UID(name), node
	return p
}

func TestCacheSnapshotIsIncremental(t *testing.T) {
	c := NewCache(0, nil)
	for i := 0; i < 3; i++ {
		c.AddNode(benchNode(i))
	}
	c.AddPod(assigned("p0", "node-00000"))
	c.AddPod(assigned("p2", "node-00002"))
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 3 || len(snap.Get("node-00000").Pods()) != 1 {
		t.Fatalf("initial snapshot: %d nodes, %d pods on node-00000", snap.NumNodes(), len(snap.Get("node-00000").Pods()))
	}
	version := snap.ListVersion
	untouched := snap.Get("node-00002")
	// A clone copies the pod slice, so an unchanged backing array proves
	// the NodeInfo was not cloned again.
	untouchedPods := &untouched.Pods()[0]
	changed := snap.Get("node-00001")

	if err := c.AssumePod(assigned("p1", "node-00001")); err != nil {
		t.Fatal(err)
	}
	c.UpdateSnapshot(snap)
	if snap.Get("node-00001") != changed || len(changed.Pods()) != 1 {
		t.Errorf("changed node: same pointer %v, %d pods; want updated in place with 1 pod", snap.Get("node-00001") == changed, len(changed.Pods()))
	}
	if snap.Get("node-00002") != untouched || &untouched.Pods()[0] != untouchedPods {
		t.Error("untouched node was cloned again")
	}
	if snap.ListVersion != version {
		t.Errorf("list rebuilt without node changes")
	}

	c.ForgetPod(assigned("p1", "node-00001"))
	c.RemoveNode("node-00002")
	c.AddNode(benchNode(7))
	c.UpdateSnapshot(snap)
	// node-00002 still has a pod: it stays in the map without a node and
	// leaves the list.
	if snap.ListVersion == version || snap.NumNodes() != 3 || snap.Get("node-00002").Node() != nil || snap.Get("node-00007") == nil {
		t.Errorf("after remove/add: version %d (was %d), %d nodes, removed node object present %v", snap.ListVersion, version, snap.NumNodes(), snap.Get("node-00002").Node() != nil)
	}
	for _, ni := range snap.List {
		if ni.Name() == "node-00002" {
			t.Error("removed node still listed")
		}
	}
	if len(snap.Get("node-00001").Pods()) != 0 {
		t.Errorf("forgotten pod still on node-00001")
	}
	for i := 1; i < len(snap.List); i++ {
		if snap.List[i-1].Name() >= snap.List[i].Name() {
			t.Errorf("list not sorted: %s before %s", snap.List[i-1].Name(), snap.List[i].Name())
		}
	}
}

func TestCacheAssumedPods(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewCache(time.Minute, func() time.Time { return now })
	c.AddNode(benchNode(0))
	p := assigned("p", "node-00000")
	if err := c.AssumePod(p); err != nil {
		t.Fatal(err)
	}
	if err := c.AssumePod(p); err == nil {
		t.Error("assuming twice succeeded")
	}
	if !c.IsAssumed(p.UID) {
		t.Fatal("not assumed")
	}
	// Confirmed by the informer: no longer assumed, never expires.
	c.AddPod(p)
	if c.IsAssumed(p.UID) || !c.Has(p.UID) {
		t.Error("confirmed pod should be accounted and not assumed")
	}
	q := assigned("q", "node-00000")
	if err := c.AssumePod(q); err != nil {
		t.Fatal(err)
	}
	c.FinishBinding(q)
	now = now.Add(2 * time.Minute)
	if n := c.CleanupExpired(); n != 1 || c.Has(q.UID) || !c.Has(p.UID) {
		t.Errorf("CleanupExpired = %d, q present %v, p present %v", n, c.Has(q.UID), c.Has(p.UID))
	}
	// A pod whose node is deleted stays accounted until it is deleted.
	c.RemoveNode("node-00000")
	snap := framework.NewSnapshot()
	c.UpdateSnapshot(snap)
	if snap.NumNodes() != 0 || snap.Get("node-00000") == nil {
		t.Errorf("pods-only node: %d nodes listed, entry present %v", snap.NumNodes(), snap.Get("node-00000") != nil)
	}
	c.RemovePod(p)
	c.UpdateSnapshot(snap)
	if snap.Get("node-00000") != nil {
		t.Error("empty pods-only node not dropped")
	}
}

func queued(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name)}, Spec: corev1.PodSpec{Priority: &prio}}
}

func TestQueueOrderAndBackoff(t *testing.T) {
	now := time.Unix(1000, 0)
	q := NewQueue(time.Second, 10*time.Second, func() time.Time { return now }, nil)
	q.Add(queued("low", 0))
	now = now.Add(time.Millisecond)
	q.Add(queued("high", 10))
	q.Add(queued("low-later", 0))
	ctx := t.Context()
	var order []string
	for i := 0; i < 3; i++ {
		order = append(order, q.Pop(ctx).Pod.Name)
	}
	if want := "high low low-later"; join(order) != want {
		t.Errorf("pop order %q, want %q", join(order), want)
	}

	// Backoff doubles per attempt and is capped.
	qp := &QueuedPod{Pod: queued("b", 0)}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		qp.Attempts = attempts
		if got := q.backoffDuration(qp); got != want {
			t.Errorf("backoff after %d attempts = %s, want %s", attempts, got, want)
		}
	}
}

func TestQueueUnschedulableMoves(t *testing.T) {
	now := time.Unix(1000, 0)
	q := NewQueue(time.Second, 10*time.Second, func() time.Time { return now }, nil)
	ctx := t.Context()
	q.Add(queued("a", 0))
	qa := q.Pop(ctx)
	cycle := q.Cycle()
	q.AddUnschedulable(qa, cycle)
	if a, b, u := q.Lens(); a != 0 || b != 0 || u != 1 {
		t.Fatalf("lens %d/%d/%d, want 0/0/1", a, b, u)
	}
	// A status-only update does not retry it; a spec change does.
	st := qa.Pod.DeepCopy()
	st.Status.Phase = corev1.PodPending
	q.Update(st)
	if _, _, u := q.Lens(); u != 1 {
		t.Fatal("status-only update moved the pod")
	}
	sp := qa.Pod.DeepCopy()
	sp.Spec.NodeSelector = map[string]string{"a": "b"}
	q.Update(sp)
	if _, b, u := q.Lens(); b != 1 || u != 0 {
		t.Fatalf("after spec change: backoff %d unschedulable %d, want 1/0 (still backing off)", b, u)
	}
	now = now.Add(2 * time.Second)
	q.Flush()
	if a, _, _ := q.Lens(); a != 1 {
		t.Fatal("expired backoff not flushed to active")
	}
	qa = q.Pop(ctx)

	// A move request during the pod's cycle sends it to backoff, not to
	// the unschedulable set, so the event is not lost.
	cycle = q.Cycle()
	q.MoveAllToActiveOrBackoff()
	q.AddUnschedulable(qa, cycle)
	if _, b, u := q.Lens(); b != 1 || u != 0 {
		t.Errorf("failure racing a move: backoff %d unschedulable %d, want 1/0", b, u)
	}
	// Node events move unschedulable pods whose backoff expired to active.
	q.Delete(qa.Pod.UID)
	q.Add(queued("c", 0))
	qc := q.Pop(ctx)
	q.AddUnschedulable(qc, q.Cycle())
	now = now.Add(time.Hour)
	q.MoveAllToActiveOrBackoff()
	if a, b, u := q.Lens(); a != 1 || b != 0 || u != 0 {
		t.Errorf("after move: %d/%d/%d, want 1/0/0", a, b, u)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
