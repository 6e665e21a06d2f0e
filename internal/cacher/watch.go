package cacher

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/clock"

	"kplane/internal/storage"
)

// item is one queued delivery: an event as this watcher sees it, or a
// bookmark (ev nil).
type item struct {
	ev *event
	// typ is the event type for this watcher (a change that makes an
	// object stop matching is DELETED for it).
	typ watch.EventType
	// gone: send ev.prev stamped with ev.rv (the object stopped matching).
	gone       bool
	bookmarkRV int64
}

// watcher is one watch served by the cache. Its queue is filled by the
// cache under Cacher.mu without blocking; its goroutine drains it into out.
type watcher struct {
	key, ns  string
	sel      Selection
	idxField string
	idxValue string
	// startRV: only events after it are delivered.
	startRV int64
	in      chan item
	out     chan storage.Event
	// stop is closed when the watcher is terminated (by the cache);
	// closed guards it and is protected by Cacher.mu.
	stop   chan struct{}
	closed bool
	// bookmarks: interval and next due time, protected by Cacher.mu.
	bookmarkEvery time.Duration
	nextBookmark  time.Time
}

func (w *watcher) matches(e *entry) bool {
	if w.key != "" && e.key != w.key {
		return false
	}
	if w.ns != "" && e.ns != w.ns {
		return false
	}
	return w.sel.matches(e)
}

// translate decides what w sees of e, as the etcd store's watch does: an
// object that stops matching is DELETED, one that starts matching ADDED.
func (w *watcher) translate(e *event) (item, bool) {
	if e.rv <= w.startRV {
		return item{}, false
	}
	cur := w.matches(e.cur)
	if e.typ == watch.Deleted {
		return item{ev: e, typ: watch.Deleted}, cur
	}
	prev := e.prev != nil && w.matches(e.prev)
	switch {
	case cur && prev:
		return item{ev: e, typ: watch.Modified}, true
	case cur:
		return item{ev: e, typ: watch.Added}, true
	case prev:
		return item{ev: e, typ: watch.Deleted, gone: true}, true
	}
	return item{}, false
}

func (w *watcher) toEvent(it item) storage.Event {
	if it.ev == nil {
		return storage.Event{Type: watch.Bookmark, RV: it.bookmarkRV}
	}
	if it.gone {
		return storage.Event{Type: it.typ, Object: it.ev.prevAsDeleted(), RV: it.ev.rv, Encoded: &it.ev.prevEnc}
	}
	return storage.Event{Type: it.typ, Object: it.ev.cur.obj, RV: it.ev.rv, Encoded: &it.ev.enc}
}

// Watch streams changes of the object ns/name (name set) or of the
// resource or namespace, with the etcd store's semantics (see
// storage.WatchOptions). A resourceVersion older than the window yields a
// 410 Expired error event. opts.Predicate must be the same selection as
// sel; it is used when the watch goes to etcd (cache not ready, or not
// caught up in time).
func (c *Cacher) Watch(ctx context.Context, ns, name string, sel Selection, opts storage.WatchOptions) (<-chan storage.Event, error) {
	sel = sel.normalized()
	rv := opts.ResourceVersion
	if opts.SendInitial {
		var err error
		if rv == 0 {
			err = c.waitConsistent(ctx)
		} else {
			err = c.waitNotOlder(ctx, rv)
		}
		if errors.Is(err, errFallback) {
			return c.delegateWatch(ctx, ns, name, opts)
		}
		if err != nil {
			return nil, err
		}
	}
	if !opts.SendInitial && rv > 0 && c.compacted(ctx, rv) {
		return c.delegateWatch(ctx, ns, name, opts)
	}
	w := &watcher{
		key: "", ns: ns, sel: sel,
		out:  make(chan storage.Event, 16),
		stop: make(chan struct{}),
	}
	if name != "" {
		w.key = relKey(ns, name)
	}
	size := c.cfg.WatcherBuffer
	if f, v, ok := c.indexedValue(sel); ok {
		w.idxField, w.idxValue = f, v
		size = c.cfg.IndexedWatcherBuffer
	}
	if w.key != "" {
		size = c.cfg.IndexedWatcherBuffer
	}
	w.in = make(chan item, size)
	if opts.ProgressInterval > 0 {
		w.bookmarkEvery = opts.ProgressInterval
		w.nextBookmark = c.cfg.Clock.Now().Add(opts.ProgressInterval)
	}

	c.mu.Lock()
	if !c.ready {
		c.mu.Unlock()
		return c.delegateWatch(ctx, ns, name, opts)
	}
	var (
		initial []*entry
		snap    *snapshot
		backlog []item
	)
	switch {
	case opts.SendInitial:
		w.startRV = c.rv
		if w.key != "" {
			if e, ok := c.tree.Get(&entry{key: w.key}); ok && w.matches(e) {
				initial = []*entry{e}
			}
		} else if w.idxField != "" {
			for _, e := range c.byField[w.idxField][w.idxValue] {
				if w.matches(e) {
					initial = append(initial, e)
				}
			}
			sort.Slice(initial, func(i, j int) bool { return initial[i].key < initial[j].key })
		} else {
			s := c.snapshotLocked()
			snap = &s
		}
	case rv == 0:
		w.startRV = c.rv
	case rv < c.oldestRV:
		oldest := c.oldestRV
		c.mu.Unlock()
		return errorWatch(&storage.Error{Err: storage.ErrExpired, Key: c.cfg.Prefix, Current: oldest,
			Msg: fmt.Sprintf("too old resource version: %d (%d)", rv, oldest)}), nil
	default:
		w.startRV = rv
		for _, e := range c.events[c.evStart:] {
			if it, ok := w.translate(e); ok {
				backlog = append(backlog, it)
			}
		}
	}
	c.addWatcherLocked(w)
	c.mu.Unlock()

	go c.runWatcher(ctx, w, opts, initial, snap, backlog)
	return w.out, nil
}

// runWatcher sends the initial state and backlog, then the queue, until
// the client goes away or the cache terminates the watcher.
func (c *Cacher) runWatcher(ctx context.Context, w *watcher, opts storage.WatchOptions, initial []*entry, snap *snapshot, backlog []item) {
	defer close(w.out)
	defer c.removeWatcher(w)
	send := func(ev storage.Event) bool {
		select {
		case w.out <- ev:
			return true
		case <-ctx.Done():
			return false
		case <-w.stop:
			return false
		}
	}
	if opts.SendInitial {
		if snap != nil {
			lo, hi := "", ""
			if w.ns != "" {
				lo, hi = w.ns+"/", w.ns+"0"
			}
			ok := true
			snap.tree.AscendGreaterOrEqual(&entry{key: lo}, func(e *entry) bool {
				if hi != "" && e.key >= hi {
					return false
				}
				if w.matches(e) {
					ok = send(storage.Event{Type: watch.Added, Object: e.obj, RV: e.rv})
				}
				return ok
			})
			if !ok {
				return
			}
		}
		for _, e := range initial {
			if !send(storage.Event{Type: watch.Added, Object: e.obj, RV: e.rv}) {
				return
			}
		}
		if opts.InitialEventsEnd && !send(storage.Event{Type: watch.Bookmark, RV: w.startRV, InitialEventsEnd: true}) {
			return
		}
	}
	for _, it := range backlog {
		if !send(w.toEvent(it)) {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.stop:
			return
		case it := <-w.in:
			if !send(w.toEvent(it)) {
				return
			}
		}
	}
}

func errorWatch(err error) <-chan storage.Event {
	ch := make(chan storage.Event, 1)
	ch <- storage.Event{Type: watch.Error, Err: err}
	close(ch)
	return ch
}

// delegateWatch serves a watch from etcd.
func (c *Cacher) delegateWatch(ctx context.Context, ns, name string, opts storage.WatchOptions) (<-chan storage.Event, error) {
	key, rec := c.prefix(ns), true
	if name != "" {
		key, rec = c.prefix(ns)+name, false
	}
	opts.Recursive = rec
	return c.store.Watch(ctx, key, c.cfg.Type, opts)
}

func addTo[K comparable](m map[K]map[*watcher]struct{}, k K, w *watcher) {
	s := m[k]
	if s == nil {
		s = map[*watcher]struct{}{}
		m[k] = s
	}
	s[w] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[*watcher]struct{}, k K, w *watcher) {
	if s := m[k]; s != nil {
		delete(s, w)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

func (c *Cacher) addWatcherLocked(w *watcher) {
	switch {
	case w.key != "":
		addTo(c.keyW, w.key, w)
	case w.idxField != "":
		byVal := c.fieldW[w.idxField]
		if byVal == nil {
			byVal = map[string]map[*watcher]struct{}{}
			c.fieldW[w.idxField] = byVal
		}
		addTo(byVal, w.idxValue, w)
	case w.ns != "":
		addTo(c.nsW, w.ns, w)
	default:
		c.allW[w] = struct{}{}
	}
	if w.bookmarkEvery > 0 {
		c.bookmarkW[w] = struct{}{}
	}
	c.m.watchers.Inc()
}

func (c *Cacher) removeWatcher(w *watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.terminateLocked(w, false)
}

// terminateLocked unregisters w and stops its goroutine; dropped counts a
// watcher cut off for falling behind.
func (c *Cacher) terminateLocked(w *watcher, dropped bool) {
	if w.closed {
		return
	}
	w.closed = true
	close(w.stop)
	switch {
	case w.key != "":
		removeFrom(c.keyW, w.key, w)
	case w.idxField != "":
		if byVal := c.fieldW[w.idxField]; byVal != nil {
			removeFrom(byVal, w.idxValue, w)
		}
	case w.ns != "":
		removeFrom(c.nsW, w.ns, w)
	default:
		delete(c.allW, w)
	}
	delete(c.bookmarkW, w)
	c.m.watchers.Dec()
	if dropped {
		c.m.terminated.Inc()
	}
}

func (c *Cacher) watchersLocked() []*watcher {
	var out []*watcher
	for w := range c.allW {
		out = append(out, w)
	}
	for _, s := range c.keyW {
		for w := range s {
			out = append(out, w)
		}
	}
	for _, s := range c.nsW {
		for w := range s {
			out = append(out, w)
		}
	}
	for _, byVal := range c.fieldW {
		for _, s := range byVal {
			for w := range s {
				out = append(out, w)
			}
		}
	}
	return out
}

// dispatchLocked queues e to the watchers it may concern: those of its
// key, of the index values of its new and old object, of its namespace,
// and the unnarrowed ones. A watcher whose queue is full is terminated.
func (c *Cacher) dispatchLocked(e *event) {
	n := 0
	// A full queue may drain within the event's budget (shared by all its
	// watchers, so one stuck client delays an event by at most the budget);
	// after that full queues are cut off at once.
	var (
		budget <-chan time.Time
		timer  clock.Timer
		spent  bool
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	offer := func(set map[*watcher]struct{}) {
		for w := range set {
			it, ok := w.translate(e)
			if !ok {
				continue
			}
			select {
			case w.in <- it:
				n++
				continue
			default:
			}
			if !spent {
				if budget == nil {
					timer = c.cfg.Clock.NewTimer(c.cfg.DispatchBudget)
					budget = timer.C()
				}
				select {
				case w.in <- it:
					n++
					continue
				case <-budget:
					spent = true
				}
			}
			c.log.Debug("watcher fell behind; closing it", "key", w.key, "ns", w.ns, "index", w.idxValue)
			c.terminateLocked(w, true)
		}
	}
	offer(c.allW)
	if len(c.keyW) > 0 {
		offer(c.keyW[e.cur.key])
	}
	if len(c.nsW) > 0 {
		offer(c.nsW[e.cur.ns])
	}
	for f, byVal := range c.fieldW {
		v := e.cur.fields[f]
		offer(byVal[v])
		if e.prev != nil {
			if pv := e.prev.fields[f]; pv != v {
				offer(byVal[pv])
			}
		}
	}
	if n > 0 {
		c.m.dispatched.Add(float64(n))
	}
}

// bookmarkLoop sends due bookmarks at the cache's revision: every event up
// to it has been queued before the bookmark, so it is a valid resume point.
func (c *Cacher) bookmarkLoop(ctx context.Context) {
	t := c.cfg.Clock.NewTicker(c.cfg.BookmarkCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			c.sendBookmarks(c.cfg.Clock.Now())
		}
	}
}

func (c *Cacher) sendBookmarks(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ready {
		return
	}
	for w := range c.bookmarkW {
		if now.Before(w.nextBookmark) || c.rv < w.startRV {
			continue
		}
		select {
		case w.in <- item{bookmarkRV: c.rv}:
			w.nextBookmark = now.Add(w.bookmarkEvery)
		default:
			// Full queue: the next event terminates it or it drains.
		}
	}
}
