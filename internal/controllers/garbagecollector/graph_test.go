package garbagecollector

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// recorder records what the builder queues.
type recorder struct{ deletes, orphans []types.UID }

func (r *recorder) attemptToDelete(uid types.UID) { r.deletes = append(r.deletes, uid) }
func (r *recorder) attemptToOrphan(uid types.UID) { r.orphans = append(r.orphans, uid) }

var cmKind = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

func obj(uid string, deleting bool, finalizers []string, owners ...string) *metav1.ObjectMeta {
	m := &metav1.ObjectMeta{Name: "n-" + uid, Namespace: "ns", UID: types.UID(uid), Finalizers: finalizers}
	if deleting {
		now := metav1.NewTime(time.Unix(0, 0))
		m.DeletionTimestamp = &now
	}
	yes := true
	for _, o := range owners {
		m.OwnerReferences = append(m.OwnerReferences, metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "n-" + o, UID: types.UID(o), BlockOwnerDeletion: &yes})
	}
	return m
}

func TestBuilder(t *testing.T) {
	add := func(m *metav1.ObjectMeta) *event { return &event{typ: addEvent, gvk: cmKind, obj: m} }
	upd := func(m *metav1.ObjectMeta) *event { return &event{typ: updateEvent, gvk: cmKind, obj: m} }
	del := func(m *metav1.ObjectMeta) *event { return &event{typ: deleteEvent, gvk: cmKind, obj: m} }
	tests := []struct {
		name        string
		setup, then []*event
		wantDeletes []types.UID
		wantOrphans []types.UID
		wantNodes   int
		check       func(t *testing.T, g *graph)
	}{
		{
			name:        "an unseen owner becomes a virtual node to verify",
			then:        []*event{add(obj("dep", false, nil, "owner"))},
			wantDeletes: []types.UID{"owner"},
			wantNodes:   2,
			check: func(t *testing.T, g *graph) {
				s, _ := g.snapshot("owner")
				if !s.virtual || len(s.dependents) != 1 || !s.dependents[0].blockOwnerDeletion {
					t.Errorf("owner snapshot = %+v, want virtual with one blocking dependent", s)
				}
			},
		},
		{
			name:      "observing the owner makes it real",
			setup:     []*event{add(obj("dep", false, nil, "owner"))},
			then:      []*event{add(obj("owner", false, nil))},
			wantNodes: 2,
			check: func(t *testing.T, g *graph) {
				if s, _ := g.snapshot("owner"); s.virtual {
					t.Error("owner still virtual after being observed")
				}
			},
		},
		{
			name:        "deleting an owner queues its dependents",
			setup:       []*event{add(obj("owner", false, nil)), add(obj("a", false, nil, "owner")), add(obj("b", false, nil, "owner"))},
			then:        []*event{del(obj("owner", false, nil))},
			wantDeletes: []types.UID{"a", "b"},
			wantNodes:   2,
		},
		{
			name:        "foreground deletion queues dependents and the owner",
			setup:       []*event{add(obj("owner", false, nil)), add(obj("a", false, nil, "owner"))},
			then:        []*event{upd(obj("owner", true, []string{metav1.FinalizerDeleteDependents}))},
			wantDeletes: []types.UID{"a", "owner"},
			wantNodes:   2,
		},
		{
			name:        "a dependent's removal queues an owner deleting in the foreground",
			setup:       []*event{add(obj("owner", true, []string{metav1.FinalizerDeleteDependents})), add(obj("a", false, nil, "owner"))},
			then:        []*event{del(obj("a", false, nil, "owner"))},
			wantDeletes: []types.UID{"owner"},
			wantNodes:   1,
		},
		{
			name:        "dropping the reference also queues the foreground owner",
			setup:       []*event{add(obj("owner", true, []string{metav1.FinalizerDeleteDependents})), add(obj("a", false, nil, "owner"))},
			then:        []*event{upd(obj("a", false, nil))},
			wantDeletes: []types.UID{"owner"},
			wantNodes:   2,
		},
		{
			name:        "orphan deletion is queued once",
			setup:       []*event{add(obj("owner", false, nil)), add(obj("a", false, nil, "owner"))},
			then:        []*event{upd(obj("owner", true, []string{metav1.FinalizerOrphanDependents})), upd(obj("owner", true, []string{metav1.FinalizerOrphanDependents}))},
			wantOrphans: []types.UID{"owner"},
			wantNodes:   2,
		},
		{
			name:      "a virtual owner with no dependents left is dropped",
			setup:     []*event{add(obj("dep", false, nil, "ghost"))},
			then:      []*event{upd(obj("dep", false, nil))},
			wantNodes: 1,
		},
		{
			name:        "a virtual delete removes only virtual nodes",
			setup:       []*event{add(obj("dep", false, nil, "ghost")), add(obj("real", false, nil))},
			then:        []*event{{virtual: true, ref: objectRef{UID: "ghost"}}, {virtual: true, ref: objectRef{UID: "real"}}},
			wantDeletes: []types.UID{"dep"},
			wantNodes:   2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGraph()
			r := &recorder{}
			b := &builder{g: g, q: r, absent: newAbsentCache(10)}
			for _, e := range tc.setup {
				b.apply(e)
			}
			*r = recorder{}
			for _, e := range tc.then {
				b.apply(e)
			}
			slices.Sort(r.deletes)
			if !slices.Equal(r.deletes, tc.wantDeletes) {
				t.Errorf("queued deletes = %v, want %v", r.deletes, tc.wantDeletes)
			}
			if !slices.Equal(r.orphans, tc.wantOrphans) {
				t.Errorf("queued orphans = %v, want %v", r.orphans, tc.wantOrphans)
			}
			if g.len() != tc.wantNodes {
				t.Errorf("graph has %d nodes, want %d", g.len(), tc.wantNodes)
			}
			if tc.check != nil {
				tc.check(t, g)
			}
		})
	}
}
