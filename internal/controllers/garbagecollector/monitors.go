package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// ignoredResources are never collected, as upstream's defaults: events
// churn far too much to be worth a graph entry.
var ignoredResources = map[schema.GroupResource]bool{
	{Group: "", Resource: "events"}:              true,
	{Group: "events.k8s.io", Resource: "events"}: true,
}

// mapping is what the collector knows about one served resource.
type mapping struct {
	gvr        schema.GroupVersionResource
	gvk        schema.GroupVersionKind
	namespaced bool
}

// mapper resolves an owner reference's kind to a resource. It is replaced
// wholesale on every discovery.
type mapper struct {
	mu     sync.RWMutex // guards byKind
	byKind map[schema.GroupKind]mapping
}

func (m *mapper) set(ms []mapping) {
	byKind := make(map[schema.GroupKind]mapping, len(ms))
	for _, x := range ms {
		byKind[x.gvk.GroupKind()] = x
	}
	m.mu.Lock()
	m.byKind = byKind
	m.mu.Unlock()
}

func (m *mapper) lookup(gk schema.GroupKind) (mapping, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	x, ok := m.byKind[gk]
	return x, ok
}

// deletable discovers the preferred version of every resource the
// collector can watch and delete. Resources of groups that failed
// discovery are skipped; the error says which (the caller retries).
func deletable(ctx context.Context, d discovery.DiscoveryInterface) ([]mapping, error) {
	lists, err := discovery.ServerPreferredResources(d)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discover resources: %w", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	lists = discovery.FilteredBy(discovery.SupportsAllVerbs{Verbs: []string{"list", "watch", "delete"}}, lists)
	var out []mapping
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			err = errors.Join(err, fmt.Errorf("parse group version %q: %w", l.GroupVersion, perr))
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || ignoredResources[gv.WithResource(r.Name).GroupResource()] {
				continue
			}
			out = append(out, mapping{gvr: gv.WithResource(r.Name), gvk: gv.WithKind(r.Kind), namespaced: r.Namespaced})
		}
	}
	return out, err
}

// monitor watches one resource for the graph.
type monitor struct {
	mapping
	informer cache.SharedIndexInformer
	reg      cache.ResourceEventHandlerRegistration
	// stop ends an informer the collector runs itself (a metadata
	// informer); nil for informers of the shared factory.
	stop chan struct{}
}

// monitors owns the collector's informers: shared typed informers for the
// resources the process's factory knows (so each resource has one informer
// per process), metadata-only informers for everything else.
type monitors struct {
	shared informers.SharedInformerFactory
	meta   metadata.Interface
	send   func(*event)

	mu   sync.Mutex // guards byGR
	byGR map[schema.GroupResource]*monitor
}

// sync starts monitors for new resources and stops those of resources no
// longer served; it returns the HasSynced funcs of all current monitors.
func (ms *monitors) sync(ctx context.Context, want []mapping) []cache.InformerSynced {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.byGR == nil {
		ms.byGR = map[schema.GroupResource]*monitor{}
	}
	keep := map[schema.GroupResource]bool{}
	startShared := false
	for _, m := range want {
		gr := m.gvr.GroupResource()
		keep[gr] = true
		if cur, ok := ms.byGR[gr]; ok && cur.gvr == m.gvr {
			continue
		} else if ok {
			ms.stop(cur)
		}
		mon := &monitor{mapping: m}
		if gi, err := ms.shared.ForResource(m.gvr); err == nil {
			mon.informer = gi.Informer()
			startShared = true
		} else {
			mon.informer = metadatainformer.NewFilteredMetadataInformer(ms.meta, m.gvr, metav1.NamespaceAll, 0, cache.Indexers{}, nil).Informer()
			mon.stop = make(chan struct{})
		}
		gvk := m.gvk
		reg, err := mon.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { ms.emit(addEvent, gvk, obj) },
			UpdateFunc: func(_, obj any) {
				ms.emit(updateEvent, gvk, obj)
			},
			DeleteFunc: func(obj any) { ms.emit(deleteEvent, gvk, obj) },
		})
		if err != nil {
			continue
		}
		mon.reg = reg
		if mon.stop != nil {
			go mon.informer.Run(mon.stop)
		}
		ms.byGR[gr] = mon
	}
	for gr, mon := range ms.byGR {
		if !keep[gr] {
			ms.stop(mon)
			delete(ms.byGR, gr)
		}
	}
	if startShared {
		ms.shared.Start(ctx.Done())
	}
	synced := make([]cache.InformerSynced, 0, len(ms.byGR))
	for _, mon := range ms.byGR {
		synced = append(synced, mon.reg.HasSynced)
	}
	return synced
}

func (ms *monitors) stop(mon *monitor) {
	if mon.reg != nil {
		_ = mon.informer.RemoveEventHandler(mon.reg)
	}
	if mon.stop != nil {
		close(mon.stop)
	}
}

// stopAll stops every informer the collector runs itself.
func (ms *monitors) stopAll() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for gr, mon := range ms.byGR {
		ms.stop(mon)
		delete(ms.byGR, gr)
	}
}

// resources lists the monitored resources, sorted (for logs and tests).
func (ms *monitors) resources() []string {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make([]string, 0, len(ms.byGR))
	for _, mon := range ms.byGR {
		out = append(out, mon.gvr.String())
	}
	slices.Sort(out)
	return out
}

func (ms *monitors) emit(typ eventType, gvk schema.GroupVersionKind, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	acc, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	ms.send(&event{typ: typ, gvk: gvk, obj: acc})
}
