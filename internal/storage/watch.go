package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// Event is one change seen by a watch. For Error events Err is set; for
// Bookmark events only RV (and InitialEventsEnd) matter.
type Event struct {
	Type             watch.EventType
	Object           runtime.Object
	RV               int64
	Err              error
	InitialEventsEnd bool
	// Encoded, when set, is shared by every watcher receiving this same
	// event and object: writers cache their serialised bytes in it. The
	// Object of such an event is shared too and must not be modified.
	Encoded *Encoded
	// Hash is the xxHash64 of Object's stored bytes for ADDED and
	// MODIFIED events read from etcd (0 otherwise), for Cached.Hash.
	Hash uint64
}

// WatchOptions select where a watch starts and what it reports.
type WatchOptions struct {
	// ResourceVersion to watch after; 0 means "now", starting with the
	// current state as ADDED events when SendInitial is set.
	ResourceVersion int64
	// SendInitial emits the current state (at the latest revision, not
	// older than ResourceVersion) as ADDED events first.
	SendInitial bool
	// InitialEventsEnd emits a bookmark right after the initial events.
	InitialEventsEnd bool
	// Recursive watches every key under the prefix key.
	Recursive bool
	Predicate Predicate
	// ProgressInterval > 0 asks etcd for progress at that interval and
	// reports it as Bookmark events.
	ProgressInterval time.Duration
	// Buffer is the channel size; 0 means 100.
	Buffer int
}

// Watch streams events for key until ctx is cancelled or an error event has
// been sent; the channel is then closed.
func (s *Store) Watch(ctx context.Context, key, typ string, opts WatchOptions) (<-chan Event, error) {
	size := opts.Buffer
	if size <= 0 {
		size = 100
	}
	// Fix the starting point before returning, as upstream does: every
	// write that completes after Watch returns is then seen by this watch.
	rev := opts.ResourceVersion
	var initial []runtime.Object
	if opts.SendInitial {
		res, err := s.List(ctx, key, typ, ListOptions{ResourceVersion: fmt.Sprint(rev), Predicate: opts.Predicate})
		if err != nil {
			return nil, err
		}
		initial, rev = res.Items, res.ResourceVersion
	} else if rev == 0 {
		r, err := s.CurrentRevision(ctx)
		if err != nil {
			return nil, err
		}
		rev = r
	}
	out := make(chan Event, size)
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	go func() {
		defer close(out)
		defer cancel()
		s.runWatch(wctx, key, typ, opts, rev, initial, out)
	}()
	return out, nil
}

// runWatch sends the initial objects (if any) and then every change after
// revision rev.
func (s *Store) runWatch(ctx context.Context, key, typ string, opts WatchOptions, rev int64, initial []runtime.Object, out chan<- Event) {
	send := func(ev Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if opts.SendInitial {
		for _, obj := range initial {
			if !send(Event{Type: watch.Added, Object: obj}) {
				return
			}
		}
		if opts.InitialEventsEnd && !send(Event{Type: watch.Bookmark, RV: rev, InitialEventsEnd: true}) {
			return
		}
	}
	wopts := []clientv3.OpOption{clientv3.WithRev(rev + 1), clientv3.WithPrevKV(), clientv3.WithProgressNotify()}
	if opts.Recursive {
		wopts = append(wopts, clientv3.WithPrefix())
	}
	wch := s.client.Watch(ctx, key, wopts...)
	var tick <-chan time.Time
	if opts.ProgressInterval > 0 {
		t := time.NewTicker(opts.ProgressInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			_ = s.client.RequestProgress(ctx)
		case wresp, ok := <-wch:
			if !ok {
				return
			}
			if wresp.CompactRevision != 0 || errors.Is(wresp.Err(), rpctypes.ErrCompacted) {
				send(Event{Type: watch.Error, Err: &Error{Err: ErrExpired, Key: key, Current: wresp.CompactRevision,
					Msg: fmt.Sprintf("too old resource version: %d (%d)", opts.ResourceVersion, wresp.CompactRevision)}})
				return
			}
			if err := wresp.Err(); err != nil {
				send(Event{Type: watch.Error, Err: fmt.Errorf("watch %s: %w", key, err)})
				return
			}
			if wresp.IsProgressNotify() {
				if opts.ProgressInterval > 0 && !send(Event{Type: watch.Bookmark, RV: wresp.Header.Revision}) {
					return
				}
				continue
			}
			for _, e := range wresp.Events {
				ev, ok, err := s.translate(e, opts.Predicate)
				if err != nil {
					send(Event{Type: watch.Error, Err: err})
					return
				}
				if ok && !send(ev) {
					return
				}
			}
		}
	}
}

// translate turns an etcd event into a watch event, applying the predicate
// the way upstream does: an object that stops matching is DELETED for this
// watcher, one that starts matching is ADDED.
func (s *Store) translate(e *clientv3.Event, pred Predicate) (Event, bool, error) {
	rev := e.Kv.ModRevision
	if e.Type == mvccpb.DELETE {
		if e.PrevKv == nil {
			return Event{}, false, nil
		}
		obj, err := s.decode(e.PrevKv.Value, rev)
		if err != nil {
			return Event{}, false, err
		}
		if pred != nil && !pred(obj) {
			return Event{}, false, nil
		}
		return Event{Type: watch.Deleted, Object: obj, RV: rev}, true, nil
	}
	obj, err := s.decode(e.Kv.Value, rev)
	if err != nil {
		return Event{}, false, err
	}
	if pred == nil {
		typ := watch.Modified
		if e.IsCreate() {
			typ = watch.Added
		}
		return Event{Type: typ, Object: obj, RV: rev, Hash: s.hash(e.Kv.Value)}, true, nil
	}
	cur := pred(obj)
	var prev bool
	if !e.IsCreate() && e.PrevKv != nil {
		old, err := s.decode(e.PrevKv.Value, e.PrevKv.ModRevision)
		if err != nil {
			return Event{}, false, err
		}
		prev = pred(old)
		if prev && !cur {
			SetRV(old, rev)
			return Event{Type: watch.Deleted, Object: old, RV: rev}, true, nil
		}
	}
	switch {
	case cur && prev:
		return Event{Type: watch.Modified, Object: obj, RV: rev, Hash: s.hash(e.Kv.Value)}, true, nil
	case cur:
		return Event{Type: watch.Added, Object: obj, RV: rev, Hash: s.hash(e.Kv.Value)}, true, nil
	}
	return Event{}, false, nil
}
