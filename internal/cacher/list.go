package cacher

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"kplane/internal/storage"
)

// Selection narrows lists and watches; nil selectors match everything.
// The registry has validated the field keys.
type Selection struct {
	Labels labels.Selector
	Fields fields.Selector
}

func (s Selection) normalized() Selection {
	if s.Labels != nil && s.Labels.Empty() {
		s.Labels = nil
	}
	if s.Fields != nil && s.Fields.Empty() {
		s.Fields = nil
	}
	return s
}

func (s Selection) matches(e *entry) bool {
	if s.Labels != nil && !s.Labels.Matches(e.labels) {
		return false
	}
	if s.Fields != nil && !s.Fields.Matches(e.fields) {
		return false
	}
	return true
}

// errFallback says a read cannot be served by the cache and goes to etcd.
var errFallback = errors.New("served by etcd")

// indexedValue returns the indexed field and value an equality selector
// pins, if any.
func (c *Cacher) indexedValue(sel Selection) (string, string, bool) {
	if sel.Fields == nil {
		return "", "", false
	}
	for _, f := range c.cfg.IndexFields {
		if v, ok := sel.Fields.RequiresExactMatch(f); ok {
			return f, v, true
		}
	}
	return "", "", false
}

// List serves a list with upstream's resourceVersion semantics (see the
// package doc). opts.Predicate must be the same selection as sel; it is
// used when the list goes to etcd.
func (c *Cacher) List(ctx context.Context, ns string, sel Selection, opts storage.ListOptions) (*storage.ListResult, error) {
	start := time.Now()
	sel = sel.normalized()
	res, err := c.listFromCache(ctx, ns, sel, opts)
	if errors.Is(err, errFallback) {
		res, err = c.store.List(ctx, c.prefix(ns), c.cfg.Type, opts)
		observeSince(c.m.listEtcd, start)
		return res, err
	}
	if err == nil {
		observeSince(c.m.listCache, start)
	}
	return res, err
}

func (c *Cacher) prefix(ns string) string {
	if ns == "" {
		return c.cfg.Prefix
	}
	return c.cfg.Prefix + ns + "/"
}

func (c *Cacher) listFromCache(ctx context.Context, ns string, sel Selection, opts storage.ListOptions) (*storage.ListResult, error) {
	if opts.Continue != "" {
		rv, startKey, err := storage.DecodeContinue(opts.Continue)
		if err != nil {
			return nil, err
		}
		s, ok := c.heldSnapshot(rv)
		if !ok || c.compacted(ctx, rv) {
			return nil, errFallback
		}
		return c.page(s, ns, sel, startKey, opts.Limit), nil
	}
	rv, err := storage.ParseRV(opts.ResourceVersion)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Match == metav1.ResourceVersionMatchExact:
		s, ok := c.exactSnapshot(rv)
		if !ok || (rv < s.rv || rv < c.ResourceVersion()) && c.compacted(ctx, rv) {
			return nil, errFallback
		}
		return c.serve(s, ns, sel, opts.Limit), nil
	case opts.ResourceVersion == "":
		if err := c.waitConsistent(ctx); err != nil {
			return nil, err
		}
	case rv > 0:
		if err := c.waitNotOlder(ctx, rv); err != nil {
			return nil, err
		}
	}
	c.mu.RLock()
	if !c.ready {
		c.mu.RUnlock()
		return nil, errFallback
	}
	if f, v, ok := c.indexedValue(sel); ok && opts.Limit == 0 {
		// A small index bucket (one node's pods): no snapshot needed.
		items := c.fromIndexLocked(f, v, ns, sel)
		rv := c.rv
		c.mu.RUnlock()
		return &storage.ListResult{Items: items, ResourceVersion: rv}, nil
	}
	s := c.snapshotLocked()
	c.mu.RUnlock()
	return c.serve(s, ns, sel, opts.Limit), nil
}

// fromIndexLocked lists one index bucket in key order.
func (c *Cacher) fromIndexLocked(f, v, ns string, sel Selection) []runtime.Object {
	bucket := c.byField[f][v]
	es := make([]*entry, 0, len(bucket))
	for _, e := range bucket {
		if (ns == "" || e.ns == ns) && sel.matches(e) {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].key < es[j].key })
	items := make([]runtime.Object, len(es))
	for i, e := range es {
		items[i] = e.obj
	}
	return items
}

// serve answers a first page from s and holds s when there are more pages.
func (c *Cacher) serve(s snapshot, ns string, sel Selection, limit int64) *storage.ListResult {
	res := c.page(s, ns, sel, "", limit)
	if res.Continue != "" {
		c.hold(s)
	}
	return res
}

// page lists s from startKey (relative to the prefix) within ns, up to
// limit matching items, as the etcd store would at the same revision.
func (c *Cacher) page(s snapshot, ns string, sel Selection, startKey string, limit int64) *storage.ListResult {
	res := &storage.ListResult{ResourceVersion: s.rv, Items: []runtime.Object{}}
	// Continue keys are relative to the list's prefix, as the etcd
	// store's, so either can serve the next page.
	lo, hi, rel := startKey, "", ""
	if ns != "" {
		// Keys of namespace ns are the range [ns/, ns0): '0' follows '/'.
		rel = ns + "/"
		lo, hi = rel+startKey, ns+"0"
	}
	var last string
	full, more := false, false
	var remaining int64
	iter := func(e *entry) bool {
		if hi != "" && e.key >= hi {
			return false
		}
		if full {
			more = true
			if sel.Labels != nil || sel.Fields != nil {
				return false
			}
			remaining++
			return true
		}
		if !sel.matches(e) {
			return true
		}
		res.Items = append(res.Items, e.obj)
		last = e.key
		if limit > 0 && int64(len(res.Items)) == limit {
			full = true
		}
		return true
	}
	s.tree.AscendGreaterOrEqual(&entry{key: lo}, iter)
	if more {
		tok, err := encodeContinue(s.rv, strings.TrimPrefix(last, rel)+"\x00")
		if err == nil {
			res.Continue = tok
		}
		if sel.Labels == nil && sel.Fields == nil {
			res.RemainingItemCount = &remaining
		}
	}
	return res
}

// encodeContinue makes a token DecodeContinue and the etcd store accept.
func encodeContinue(rv int64, startKey string) (string, error) {
	return storage.EncodeContinue(rv, startKey)
}

// hold keeps s for continue pages of lists cut from it.
func (c *Cacher) hold(s snapshot) {
	now := c.cfg.Clock.Now()
	s.at = now
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.held[:0]
	for _, h := range c.held {
		if now.Sub(h.at) <= c.cfg.SnapshotTTL && h.rv != s.rv {
			kept = append(kept, h)
		}
	}
	kept = append(kept, s)
	if over := len(kept) - c.cfg.MaxSnapshots; over > 0 {
		kept = kept[over:]
	}
	c.held = kept
}

func (c *Cacher) heldSnapshot(rv int64) (snapshot, bool) {
	now := c.cfg.Clock.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.ready {
		return snapshot{}, false
	}
	for _, h := range c.held {
		if h.rv == rv && now.Sub(h.at) <= c.cfg.SnapshotTTL {
			return h, true
		}
	}
	return snapshot{}, false
}

// exactSnapshot returns the state at exactly rv if the cache has it: its
// current state, or a held snapshot.
func (c *Cacher) exactSnapshot(rv int64) (snapshot, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.ready {
		return snapshot{}, false
	}
	if rv == c.rv {
		return c.snapshotLocked(), true
	}
	// The state is unchanged since the last event: any revision from it up
	// to rv is the same state.
	if n := len(c.events); rv < c.rv && (n == c.evStart || c.events[n-1].rv <= rv) && rv >= c.oldestRV {
		s := c.snapshotLocked()
		s.rv = rv
		return s, true
	}
	for _, h := range c.held {
		if h.rv == rv {
			return h, true
		}
	}
	return snapshot{}, false
}

// waitConsistent waits until the cache has seen etcd's current revision.
func (c *Cacher) waitConsistent(ctx context.Context) error {
	if !c.Ready() {
		return errFallback
	}
	rev, err := c.store.CurrentRevision(ctx)
	if err != nil {
		return errFallback
	}
	err = c.waitFor(ctx, rev)
	if errors.Is(err, errFallback) {
		c.m.consistentF.Inc()
	} else if err == nil {
		c.m.consistentOK.Inc()
	}
	return err
}

// waitNotOlder waits until the cache reaches rv; a revision etcd has not
// reached yet is an error, as with the etcd store.
func (c *Cacher) waitNotOlder(ctx context.Context, rv int64) error {
	c.mu.RLock()
	ready, cur := c.ready, c.rv
	c.mu.RUnlock()
	if !ready {
		return errFallback
	}
	if rv <= cur {
		return nil
	}
	rev, err := c.store.CurrentRevision(ctx)
	if err != nil {
		return errFallback
	}
	if rv > rev {
		return &storage.Error{Err: storage.ErrTooLargeRV, Key: c.cfg.Prefix, Current: rev}
	}
	return c.waitFor(ctx, rv)
}

// waitFor blocks until the cache reflects rev, asking etcd for progress so
// an idle resource's watch reports it; after ConsistentReadTimeout (or
// when the cache is not ready) it returns errFallback.
func (c *Cacher) waitFor(ctx context.Context, rev int64) error {
	c.mu.RLock()
	cur := c.rv
	c.mu.RUnlock()
	if rev > cur {
		c.m.lag.Set(float64(rev - cur))
	} else {
		c.m.lag.Set(0)
	}
	timer := c.cfg.Clock.NewTimer(c.cfg.ConsistentReadTimeout)
	defer timer.Stop()
	progress := c.cfg.Clock.NewTicker(250 * time.Millisecond)
	defer progress.Stop()
	requested := false
	for {
		c.mu.RLock()
		ready, cur, ch := c.ready, c.rv, c.rvChanged
		c.mu.RUnlock()
		if !ready {
			return errFallback
		}
		if cur >= rev {
			return nil
		}
		if !requested {
			c.requestProgress(ctx)
			requested = true
		}
		select {
		case <-ch:
		case <-progress.C():
			requested = false
		case <-timer.C():
			c.log.Debug("watch cache did not catch up; reading etcd", "want", rev, "have", cur)
			return errFallback
		case <-ctx.Done():
			return fmt.Errorf("wait for watch cache: %w", ctx.Err())
		}
	}
}
