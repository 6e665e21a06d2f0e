package cacher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/google/btree"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"kplane/internal/storage"
)

// entry is one object version held by the cache. Entries are immutable
// once built, so snapshots and in-flight events can share them.
type entry struct {
	// key is the etcd key relative to the prefix: "ns/name" or "name".
	key    string
	ns     string
	obj    runtime.Object
	rv     int64
	labels labels.Set
	fields fields.Set
	// hash is the xxHash64 of the stored bytes (0: unknown), which
	// lets an update start from obj (see Cached).
	hash uint64
}

func entryLess(a, b *entry) bool { return a.key < b.key }

// event is one change in the window. cur is the new object (for DELETED
// the deleted object stamped with the deletion's revision); prev the
// object it replaced, nil for ADDED.
type event struct {
	typ       watch.EventType
	rv        int64
	at        time.Time
	cur, prev *entry
	enc       storage.Encoded
	// prevGone is prev stamped with rv, sent as DELETED to watchers the
	// change made stop matching; built once, on first use.
	prevOnce sync.Once
	prevGone runtime.Object
	prevEnc  storage.Encoded
}

func (e *event) prevAsDeleted() runtime.Object {
	e.prevOnce.Do(func() {
		e.prevGone = shallowCopy(e.prev.obj)
		storage.SetRV(e.prevGone, e.rv)
	})
	return e.prevGone
}

// snapshot is the cache's objects as of rv. Its tree is never written.
type snapshot struct {
	tree *btree.BTreeG[*entry]
	rv   int64
	at   time.Time
}

// Cacher is the watch cache of one resource. Create it with New and run it
// with Run; until it has listed etcd (and while it re-lists after losing
// its watch) lists and watches are served by etcd.
type Cacher struct {
	cfg   Config
	log   *slog.Logger
	m     *resourceMetrics
	store *storage.Store

	// snapMu serialises tree clones (btree.Clone writes the source tree's
	// copy-on-write context); always taken inside mu.
	snapMu sync.Mutex

	// mu guards everything below.
	mu    sync.RWMutex
	ready bool
	// readyAt is the revision at which a (re)starting cache becomes ready.
	readyAt int64
	tree    *btree.BTreeG[*entry]
	// gen counts changes of tree; snap is a clone taken at snapGen.
	gen, snapGen int64
	snap         *btree.BTreeG[*entry]
	// byField indexes entries by IndexFields: field -> value -> key.
	byField map[string]map[string]map[string]*entry
	// rv is the revision the cache reflects; rvChanged is closed and
	// replaced whenever rv or ready change.
	rv        int64
	rvChanged chan struct{}
	// events[evStart:] is the window; a watch may start at any revision
	// >= oldestRV.
	events   []*event
	evStart  int
	oldestRV int64
	// held are snapshots kept for continue pages, oldest first.
	held []snapshot
	// watchers, each in exactly one bucket.
	allW      map[*watcher]struct{}
	keyW      map[string]map[*watcher]struct{}
	nsW       map[string]map[*watcher]struct{}
	fieldW    map[string]map[string]map[*watcher]struct{}
	bookmarkW map[*watcher]struct{}
}

// New builds a cache; Run fills it.
func New(cfg Config) (*Cacher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cacher{
		cfg:       cfg,
		log:       cfg.Logger.With("resource", cfg.Resource),
		m:         cfg.Metrics.forResource(cfg.Resource),
		store:     cfg.Store,
		rvChanged: make(chan struct{}),
		allW:      map[*watcher]struct{}{},
		keyW:      map[string]map[*watcher]struct{}{},
		nsW:       map[string]map[*watcher]struct{}{},
		fieldW:    map[string]map[string]map[*watcher]struct{}{},
		bookmarkW: map[*watcher]struct{}{},
	}
	c.resetLocked(btree.NewG(32, entryLess), 0)
	return c, nil
}

// Ready reports whether the cache serves reads (it has listed etcd and
// follows its watch).
func (c *Cacher) Ready() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

// ResourceVersion is the revision the cache reflects.
func (c *Cacher) ResourceVersion() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rv
}

// Run keeps the cache in sync with etcd until ctx ends: list, then watch
// from the list's revision; on any watch failure, list again. All watchers
// are closed when it returns.
func (c *Cacher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.bookmarkLoop(ctx)
	}()
	defer wg.Wait()
	defer c.stop()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := c.sync(ctx)
		if ctx.Err() != nil {
			break
		}
		c.log.Warn("watch cache lost its etcd watch; re-listing", "err", err)
		c.stop()
		select {
		case <-ctx.Done():
		case <-c.cfg.Clock.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
	return nil
}

// stop marks the cache unready and closes every watcher.
func (c *Cacher) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ready = false
	c.readyAt = 0
	c.notifyLocked()
	for _, w := range c.watchersLocked() {
		c.terminateLocked(w, false)
	}
}

// sync lists etcd into a fresh state and applies the watch until it fails.
func (c *Cacher) sync(ctx context.Context) error {
	c.m.inits.Inc()
	res, readyAt, err := c.listHistory(ctx)
	if err != nil {
		return fmt.Errorf("list %s: %w", c.cfg.Prefix, err)
	}
	tree := btree.NewG(32, entryLess)
	byField := map[string]map[string]map[string]*entry{}
	for i, obj := range res.Items {
		var h uint64
		if i < len(res.Hashes) {
			h = res.Hashes[i]
		}
		e, err := c.newEntry(obj, h)
		if err != nil {
			return err
		}
		tree.ReplaceOrInsert(e)
		c.indexInto(byField, e)
	}
	c.mu.Lock()
	c.resetLocked(tree, res.ResourceVersion)
	c.byField = byField
	// Replaying history: serve once the watch has reached the revision
	// etcd had when we started.
	c.readyAt = readyAt
	c.ready = c.rv >= readyAt
	c.m.rv.Set(float64(c.rv))
	c.mu.Unlock()

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !c.Ready() {
		go c.progressUntilReady(wctx)
	}
	ch, err := c.store.Watch(wctx, c.cfg.Prefix, c.cfg.Type, storage.WatchOptions{
		ResourceVersion: res.ResourceVersion, Recursive: true,
		ProgressInterval: c.cfg.ProgressInterval, Buffer: 1024,
	})
	if err != nil {
		return fmt.Errorf("watch %s: %w", c.cfg.Prefix, err)
	}
	for ev := range ch {
		switch ev.Type {
		case watch.Error:
			return ev.Err
		case watch.Bookmark:
			c.advance(ev.RV)
		default:
			if err := c.apply(ev); err != nil {
				return err
			}
		}
	}
	return errors.New("etcd watch closed")
}

// listHistory lists the resource HistoryRevisions back, so the watch that
// follows replays recent changes into the window, or at the latest
// revision when that is compacted.
func (c *Cacher) listHistory(ctx context.Context) (*storage.ListResult, int64, error) {
	if c.cfg.HistoryRevisions > 0 {
		rev, err := c.store.CurrentRevision(ctx)
		if err != nil {
			return nil, 0, err
		}
		if from := max(rev-c.cfg.HistoryRevisions, 1); from < rev {
			res, err := c.store.List(ctx, c.cfg.Prefix, c.cfg.Type, storage.ListOptions{
				ResourceVersion: strconv.FormatInt(from, 10), Match: metav1.ResourceVersionMatchExact, Hashes: true,
			})
			if err == nil {
				return res, rev, nil
			}
			if !errors.Is(err, storage.ErrExpired) {
				return nil, 0, err
			}
		}
	}
	res, err := c.store.List(ctx, c.cfg.Prefix, c.cfg.Type, storage.ListOptions{Hashes: true})
	if err != nil {
		return nil, 0, err
	}
	return res, res.ResourceVersion, nil
}

// progressUntilReady asks etcd for progress until the replaying watch has
// reached readyAt (an idle resource's watch only moves by progress).
func (c *Cacher) progressUntilReady(ctx context.Context) {
	t := c.cfg.Clock.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !c.Ready() {
		c.requestProgress(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// resetLocked installs a new state at rv with an empty window.
func (c *Cacher) resetLocked(tree *btree.BTreeG[*entry], rv int64) {
	c.tree = tree
	c.gen++
	c.snap = nil
	c.byField = map[string]map[string]map[string]*entry{}
	c.rv, c.oldestRV = rv, rv
	c.events, c.evStart = nil, 0
	c.held = nil
	c.notifyLocked()
}

func (c *Cacher) notifyLocked() {
	close(c.rvChanged)
	c.rvChanged = make(chan struct{})
}

func relKey(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func (c *Cacher) newEntry(obj runtime.Object, hash uint64) (*entry, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", c.cfg.Resource, err)
	}
	// The cache owns decoded objects; served objects carry no TypeMeta in
	// lists, and writers set it on their own copies.
	obj.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	rv, err := storage.ParseRV(acc.GetResourceVersion())
	if err != nil {
		return nil, err
	}
	l, f, err := c.cfg.Attrs(obj)
	if err != nil {
		return nil, fmt.Errorf("cache %s: attributes: %w", c.cfg.Resource, err)
	}
	return &entry{key: relKey(acc.GetNamespace(), acc.GetName()), ns: acc.GetNamespace(), obj: obj, rv: rv, labels: l, fields: f, hash: hash}, nil
}

func (c *Cacher) indexInto(idx map[string]map[string]map[string]*entry, e *entry) {
	for _, f := range c.cfg.IndexFields {
		v := e.fields[f]
		byVal := idx[f]
		if byVal == nil {
			byVal = map[string]map[string]*entry{}
			idx[f] = byVal
		}
		m := byVal[v]
		if m == nil {
			m = map[string]*entry{}
			byVal[v] = m
		}
		m[e.key] = e
	}
}

func (c *Cacher) unindexLocked(e *entry) {
	for _, f := range c.cfg.IndexFields {
		v := e.fields[f]
		if m := c.byField[f][v]; m != nil {
			delete(m, e.key)
			if len(m) == 0 {
				delete(c.byField[f], v)
			}
		}
	}
}

// Cached returns the cache's copy of object ns/name (ns "" for cluster
// scope) for a write to start from instead of reading etcd, or nil when
// the cache is not serving or does not hold it. The copy may be stale; the
// write's compare-and-swap finds out. Its object is shared and must not be
// modified.
func (c *Cacher) Cached(ns, name string) *storage.Cached {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.ready {
		return nil
	}
	e, ok := c.tree.Get(&entry{key: relKey(ns, name)})
	if !ok || e.hash == 0 || e.ns != ns {
		return nil
	}
	return &storage.Cached{Obj: e.obj, Rev: e.rv, Hash: e.hash}
}

// advance moves rv forward without a change (etcd progress).
func (c *Cacher) advance(rv int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rv > c.rv {
		c.rv = rv
		c.m.rv.Set(float64(rv))
		c.readyCheckLocked()
		c.notifyLocked()
	}
}

func (c *Cacher) readyCheckLocked() {
	if !c.ready && c.readyAt > 0 && c.rv >= c.readyAt {
		c.ready = true
		c.log.Debug("watch cache ready", "rv", c.rv)
	}
}

// apply adds one etcd change to the state and the window, and queues it to
// the watchers it concerns.
func (c *Cacher) apply(ev storage.Event) error {
	c.m.received.Inc()
	cur, err := c.newEntry(ev.Object, ev.Hash)
	if err != nil {
		return err
	}
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, hadPrev := c.tree.Get(cur)
	e := &event{typ: ev.Type, rv: ev.RV, at: now, cur: cur}
	if hadPrev {
		e.prev = prev
		c.unindexLocked(prev)
	}
	switch ev.Type {
	case watch.Deleted:
		if !hadPrev {
			c.advanceLocked(ev.RV)
			return nil
		}
		c.tree.Delete(cur)
	default:
		if !hadPrev {
			e.typ = watch.Added
		} else {
			e.typ = watch.Modified
		}
		c.tree.ReplaceOrInsert(cur)
		c.indexInto(c.byField, cur)
	}
	c.gen++
	c.pushLocked(e, now)
	c.advanceLocked(ev.RV)
	c.dispatchLocked(e)
	return nil
}

func (c *Cacher) advanceLocked(rv int64) {
	if rv > c.rv {
		c.rv = rv
		c.m.rv.Set(float64(rv))
	}
	c.readyCheckLocked()
	c.notifyLocked()
}

// pushLocked appends e to the window and drops what is too old or too many.
func (c *Cacher) pushLocked(e *event, now time.Time) {
	c.events = append(c.events, e)
	// Live watchers queue at most WatcherBuffer events; beyond that an
	// event only serves resumptions, which may encode it again: drop its
	// shared bytes so the window holds objects, not their encodings too.
	if old := len(c.events) - 1 - c.cfg.WatcherBuffer; old >= c.evStart {
		c.events[old].enc.Reset()
		c.events[old].prevEnc.Reset()
	}
	for n := len(c.events) - c.evStart; n > 0; n-- {
		old := c.events[c.evStart]
		if n <= c.cfg.MaxEvents && now.Sub(old.at) <= c.cfg.MaxEventAge {
			break
		}
		c.oldestRV = old.rv
		c.events[c.evStart] = nil
		c.evStart++
	}
	if c.evStart > 1024 && c.evStart > len(c.events)/2 {
		n := copy(c.events, c.events[c.evStart:])
		clear(c.events[n:])
		c.events, c.evStart = c.events[:n], 0
	}
}

// snapshotLocked returns the current state as an immutable tree; the
// caller holds mu (read or write).
func (c *Cacher) snapshotLocked() snapshot {
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.snap == nil || c.snapGen != c.gen {
		c.snap = c.tree.Clone()
		c.snapGen = c.gen
	}
	return snapshot{tree: c.snap, rv: c.rv}
}

// requestProgress asks etcd to report the watch's revision now, so that an
// idle resource's cache catches up with etcd's revision.
func (c *Cacher) requestProgress(ctx context.Context) {
	// The watch stream is chosen by the context's metadata; the store's
	// watches carry WithRequireLeader.
	if err := c.store.Client().RequestProgress(clientv3.WithRequireLeader(ctx)); err != nil {
		c.log.Debug("request etcd progress", "err", err)
	}
}

// compacted reports whether etcd has compacted rv away, with one count-only
// read. Reads at and resumptions from a compacted revision go to etcd,
// which answers them as before the cache (410 Expired with etcd's
// messages), so a compaction bounds the window as it bounds etcd's history.
func (c *Cacher) compacted(ctx context.Context, rv int64) bool {
	_, err := c.store.Client().Get(ctx, c.cfg.Prefix, clientv3.WithRev(rv), clientv3.WithCountOnly())
	return errors.Is(err, rpctypes.ErrCompacted)
}

// shallowCopy copies the top-level struct of obj (TypeMeta, ObjectMeta's
// scalars) so a caller can set those without touching the shared object.
func shallowCopy(obj runtime.Object) runtime.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj.DeepCopyObject()
	}
	n := reflect.New(v.Elem().Type())
	n.Elem().Set(v.Elem())
	return n.Interface().(runtime.Object)
}

// ShallowCopy is shallowCopy for the API server, which sets the served
// TypeMeta on shared objects before encoding them.
func ShallowCopy(obj runtime.Object) runtime.Object { return shallowCopy(obj) }
