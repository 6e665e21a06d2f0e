package garbagecollector

import (
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// objectRef identifies an object: an owner reference's coordinates plus
// the namespace the object lives in ("" for cluster-scoped objects, and
// for virtual owners the namespace of the dependent that named them).
type objectRef struct {
	APIVersion, Kind, Namespace, Name string
	UID                               types.UID
}

func (r objectRef) groupKind() schema.GroupKind {
	gv, _ := schema.ParseGroupVersion(r.APIVersion)
	return schema.GroupKind{Group: gv.Group, Kind: r.Kind}
}

// node is one object in the graph. Its fields are guarded by graph.mu.
type node struct {
	identity objectRef
	// owners are the object's ownerReferences as last observed.
	owners []metav1.OwnerReference
	// dependents are the nodes whose owners name this node's UID.
	dependents map[*node]struct{}
	// beingDeleted: the object has a deletionTimestamp.
	beingDeleted bool
	// deletingDependents: being deleted with the foregroundDeletion
	// finalizer, so the collector deletes its dependents first.
	deletingDependents bool
	// orphaning: being deleted with the orphan finalizer.
	orphaning bool
	// virtual: known only from a dependent's ownerReference, not (yet)
	// observed through an informer.
	virtual bool
}

// snapshot is a copy of a node's state that workers use without holding
// the graph lock.
type snapshot struct {
	identity           objectRef
	beingDeleted       bool
	deletingDependents bool
	virtual            bool
	dependents         []dependent
}

// dependent is a dependent of a snapshot's node and how it refers to it.
type dependent struct {
	identity           objectRef
	blockOwnerDeletion bool
	beingDeleted       bool
	deletingDependents bool
}

// graph maps UIDs to nodes. Only the graph builder goroutine writes it;
// workers read snapshots.
type graph struct {
	mu   sync.RWMutex // guards nodes and every node's fields
	uids map[types.UID]*node
}

func newGraph() *graph { return &graph{uids: map[types.UID]*node{}} }

// snapshot copies the node with uid, or returns false if the graph has none.
func (g *graph) snapshot(uid types.UID) (snapshot, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.uids[uid]
	if !ok {
		return snapshot{}, false
	}
	s := snapshot{identity: n.identity, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents, virtual: n.virtual}
	for d := range n.dependents {
		dep := dependent{identity: d.identity, beingDeleted: d.beingDeleted, deletingDependents: d.deletingDependents}
		for _, ref := range d.owners {
			if ref.UID == uid && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				dep.blockOwnerDeletion = true
			}
		}
		s.dependents = append(s.dependents, dep)
	}
	return s, true
}

// len reports how many nodes the graph holds (for tests and logs).
func (g *graph) len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.uids)
}

// eventType is what an informer reported.
type eventType int

const (
	addEvent eventType = iota
	updateEvent
	deleteEvent
)

// event is one change for the graph builder. A virtual delete event comes
// from a worker that found an unobserved owner absent; it has only ref.
type event struct {
	typ     eventType
	virtual bool
	gvk     schema.GroupVersionKind
	obj     metav1.Object
	ref     objectRef
}

// queues is where the graph builder sends work.
type queues interface {
	attemptToDelete(uid types.UID)
	attemptToOrphan(uid types.UID)
}

// builder applies events to the graph; apply must only be called from one
// goroutine at a time.
type builder struct {
	g      *graph
	q      queues
	absent *absentCache
}

// apply updates the graph for one event and queues the work it implies.
func (b *builder) apply(e *event) {
	b.g.mu.Lock()
	defer b.g.mu.Unlock()
	if e.virtual {
		b.virtualDelete(e.ref)
		return
	}
	uid := e.obj.GetUID()
	existing := b.g.uids[uid]
	switch e.typ {
	case addEvent, updateEvent:
		id := objectRef{APIVersion: e.gvk.GroupVersion().String(), Kind: e.gvk.Kind,
			Namespace: e.obj.GetNamespace(), Name: e.obj.GetName(), UID: uid}
		if existing == nil {
			n := &node{identity: id, dependents: map[*node]struct{}{}}
			b.g.uids[uid] = n
			b.setOwners(n, e.obj.GetOwnerReferences())
			b.transitions(n, e.obj)
			return
		}
		if existing.virtual {
			// The owner has now been observed; trust its real coordinates.
			existing.virtual = false
			existing.identity = id
		}
		b.setOwners(existing, e.obj.GetOwnerReferences())
		b.transitions(existing, e.obj)
	case deleteEvent:
		if existing == nil {
			return
		}
		b.remove(existing)
	}
}

// setOwners replaces n's owners, linking it to owner nodes (virtual ones
// for owners not observed yet) and unlinking removed owners.
func (b *builder) setOwners(n *node, refs []metav1.OwnerReference) {
	old := n.owners
	n.owners = refs
	for _, o := range old {
		if slices.ContainsFunc(refs, func(r metav1.OwnerReference) bool { return r.UID == o.UID && blocks(r) == blocks(o) }) {
			continue
		}
		owner, ok := b.g.uids[o.UID]
		if !ok {
			continue
		}
		if !slices.ContainsFunc(refs, func(r metav1.OwnerReference) bool { return r.UID == o.UID }) {
			delete(owner.dependents, n)
			if owner.virtual && len(owner.dependents) == 0 {
				delete(b.g.uids, o.UID)
				continue
			}
		}
		// A removed or no-longer-blocking reference may be what a
		// foreground deletion waits for.
		if owner.deletingDependents {
			b.q.attemptToDelete(owner.identity.UID)
		}
	}
	for _, r := range refs {
		if r.UID == n.identity.UID {
			continue
		}
		owner, ok := b.g.uids[r.UID]
		if !ok {
			owner = &node{virtual: true, dependents: map[*node]struct{}{},
				identity: objectRef{APIVersion: r.APIVersion, Kind: r.Kind, Namespace: n.identity.Namespace, Name: r.Name, UID: r.UID}}
			b.g.uids[r.UID] = owner
			b.q.attemptToDelete(r.UID)
		}
		owner.dependents[n] = struct{}{}
	}
}

// transitions records deletion state and queues the work a change of it
// starts: orphaning, or deleting dependents in the foreground.
func (b *builder) transitions(n *node, obj metav1.Object) {
	deleting := obj.GetDeletionTimestamp() != nil
	fins := obj.GetFinalizers()
	orphan := deleting && slices.Contains(fins, metav1.FinalizerOrphanDependents)
	foreground := deleting && slices.Contains(fins, metav1.FinalizerDeleteDependents)
	n.beingDeleted = deleting
	if orphan && !n.orphaning {
		b.q.attemptToOrphan(n.identity.UID)
	}
	n.orphaning = orphan
	if foreground && !n.deletingDependents {
		for d := range n.dependents {
			b.q.attemptToDelete(d.identity.UID)
		}
		b.q.attemptToDelete(n.identity.UID)
	}
	n.deletingDependents = foreground
}

// remove takes an observed-deleted node out of the graph: its dependents
// may now be garbage, and owners deleting in the foreground may be done.
func (b *builder) remove(n *node) {
	delete(b.g.uids, n.identity.UID)
	for _, o := range n.owners {
		owner, ok := b.g.uids[o.UID]
		if !ok {
			continue
		}
		delete(owner.dependents, n)
		if owner.deletingDependents {
			b.q.attemptToDelete(owner.identity.UID)
		}
		if owner.virtual && len(owner.dependents) == 0 {
			delete(b.g.uids, o.UID)
		}
	}
	if len(n.dependents) > 0 {
		b.absent.add(n.identity.UID)
	}
	for d := range n.dependents {
		b.q.attemptToDelete(d.identity.UID)
	}
}

// virtualDelete handles a worker's finding that an unobserved owner does
// not exist: the virtual node goes, and its dependents are re-examined.
func (b *builder) virtualDelete(ref objectRef) {
	n, ok := b.g.uids[ref.UID]
	if !ok || !n.virtual {
		return
	}
	b.remove(n)
}

func blocks(r metav1.OwnerReference) bool {
	return r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion
}

// absentCache remembers owner UIDs known not to exist, so that many
// dependents of one deleted owner cost one GET, not one each. Bounded:
// when full it is cleared (a miss only costs a GET).
type absentCache struct {
	mu   sync.Mutex // guards uids
	uids map[types.UID]struct{}
	max  int
}

func newAbsentCache(max int) *absentCache {
	return &absentCache{uids: map[types.UID]struct{}{}, max: max}
}

func (c *absentCache) add(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.uids) >= c.max {
		clear(c.uids)
	}
	c.uids[uid] = struct{}{}
}

func (c *absentCache) has(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.uids[uid]
	return ok
}
