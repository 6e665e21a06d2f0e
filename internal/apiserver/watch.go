package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"kplane/internal/cacher"
	"kplane/internal/storage"
)

// bookmarkInterval is how often a watch with allowWatchBookmarks gets a
// bookmark while nothing else happens (upstream: about once a minute).
const bookmarkInterval = 30 * time.Second

// serveWatch streams watch events: JSON lines, length-delimited protobuf,
// or Table rows, as the client asked.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, sv *served, ri *RequestInfo, ns string) {
	p, err := parseListParams(r, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), true)
	if !ok || t.info.StreamSerializer == nil {
		s.writeError(w, r, s.notAcceptable())
		return
	}
	rv, err := storage.ParseRV(p.rv)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	timeout := time.Duration(p.timeoutSeconds) * time.Second
	if timeout <= 0 {
		// Upstream spreads watch lifetimes over [min, 2*min) of 30 minutes.
		timeout = 30*time.Minute + time.Duration(rand.Int64N(int64(30*time.Minute)))
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	opts := storage.WatchOptions{ResourceVersion: rv}
	switch {
	case p.sendInitialEvents != nil:
		opts.SendInitial = *p.sendInitialEvents
		opts.InitialEventsEnd = *p.sendInitialEvents
	case p.rv == "" || p.rv == "0":
		// Legacy watch from "now": the current state first, as ADDED.
		opts.SendInitial = true
	}
	if p.allowBookmarks {
		opts.ProgressInterval = bookmarkInterval
	}
	events, err := sv.rest.Watch(ctx, ns, "", p.sel, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.watchers.WithLabelValues(sv.res.Group, sv.res.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(sv.res.Group, sv.res.Resource).Dec()

	ct := t.info.MediaType
	if t.info.MediaType == mediaProtobuf {
		ct = mediaProtobuf + ";stream=watch"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	// Every write and flush is stamped so that one blocked on a client
	// that stopped reading is cut off (watchdeadline.go) and the watch
	// ends, freeing its watcher, instead of pinning this goroutine until
	// the connection dies.
	ww := s.stalls.track(w)
	defer s.stalls.untrack(ww)
	rc := http.NewResponseController(w)
	framer := t.info.StreamSerializer.Framer.NewFrameWriter(w)
	fail := func(err error) {
		reason := ww.reason()
		s.metrics.watchEnded.WithLabelValues(sv.res.Group, sv.res.Resource, reason).Inc()
		s.log.Debug("watch ended: write failed", "resource", sv.res.Resource, "reason", reason, "err", err)
	}
	// unflushed: events were written since the last flush.
	unflushed := false
	// flush sends what was written; false ends the watch.
	flush := func() bool {
		ww.writing()
		if err := rc.Flush(); err != nil {
			fail(err)
			return false
		}
		ww.idle()
		unflushed = false
		return true
	}
	write := func(b []byte) bool {
		ww.writing()
		if _, err := framer.Write(b); err != nil {
			fail(err)
			return false
		}
		unflushed = true
		s.metrics.watchEvents.WithLabelValues(sv.res.Group, sv.res.Resource).Inc()
		return true
	}
	if !flush() {
		return
	}
	outer := t.info.StreamSerializer.Serializer
	embedded := t.info.Serializer
	var objBuf, evBuf bytes.Buffer
	first := true
	for {
		var (
			ev storage.Event
			ok bool
		)
		select {
		case ev, ok = <-events:
		default:
			// Nothing queued: send what was written before waiting.
			if unflushed && !flush() {
				return
			}
			select {
			case <-ctx.Done():
				return
			case ev, ok = <-events:
			}
		}
		if !ok {
			// Flush here, bounded, rather than leave it to net/http after
			// the handler returns, where nothing would bound it. (Over
			// HTTP/1.1 the final chunk is still written there; it is five
			// bytes after a flush that succeeded.)
			if unflushed {
				flush()
			}
			return
		}
		if ev.Encoded != nil && t.as == "" && (ev.Type == watch.Added || ev.Type == watch.Modified || ev.Type == watch.Deleted) {
			// The watch cache shares this event among watchers: encode it
			// once per format and version, and write the same bytes to all.
			key := string(ev.Type) + " " + t.info.MediaType + " " + sv.res.GVK().String() + " " + serializerID(embedded, outer)
			b, err := ev.Encoded.Get(key, func() ([]byte, error) { return s.encodeWatchEvent(sv, embedded, outer, ev) })
			if err != nil {
				s.log.Error("encode watch event", "err", err)
				return
			}
			if !write(b) {
				return
			}
			continue
		}
		obj, typ, err := s.watchObject(r, sv, t, ev, &first)
		if err != nil {
			obj, typ = ErrorToStatus(err), watch.Error
		}
		if obj == nil {
			continue
		}
		objBuf.Reset()
		if err := embedded.Encode(obj, &objBuf); err != nil {
			s.log.Error("encode watch object", "err", err)
			return
		}
		evBuf.Reset()
		we := &metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: objBuf.Bytes()}}
		if err := outer.Encode(we, &evBuf); err != nil {
			s.log.Error("encode watch event", "err", err)
			return
		}
		if !write(evBuf.Bytes()) {
			return
		}
		if typ == watch.Error {
			flush()
			return
		}
	}
}

// serializerID tells serializers apart in shared-encoding keys (a pretty
// JSON serializer is another instance of the same media type).
func serializerID(embedded, outer runtime.Encoder) string {
	return fmt.Sprintf("%p/%p", embedded, outer)
}

// encodeWatchEvent encodes one event of a shared object into new bytes
// (they are kept and reused by other watchers).
func (s *Server) encodeWatchEvent(sv *served, embedded, outer runtime.Encoder, ev storage.Event) ([]byte, error) {
	obj, err := toServed(sv, cacher.ShallowCopy(ev.Object))
	if err != nil {
		return nil, err
	}
	objBuf := s.buffers.Get()
	defer s.buffers.Put(objBuf)
	if err := s.encode(embedded, obj, objBuf); err != nil {
		return nil, err
	}
	var evBuf bytes.Buffer
	we := &metav1.WatchEvent{Type: string(ev.Type), Object: runtime.RawExtension{Raw: objBuf.Bytes()}}
	if err := outer.Encode(we, &evBuf); err != nil {
		return nil, err
	}
	return evBuf.Bytes(), nil
}

// watchObject turns a storage event into the object to send.
func (s *Server) watchObject(r *http.Request, sv *served, t target, ev storage.Event, first *bool) (runtime.Object, watch.EventType, error) {
	switch ev.Type {
	case watch.Error:
		return nil, watch.Error, sv.rest.WatchError(ev.Err)
	case watch.Bookmark:
		b := sv.res.New()
		acc, err := metaAccessor(b)
		if err != nil {
			return nil, "", err
		}
		acc.SetResourceVersion(strconv.FormatInt(ev.RV, 10))
		if ev.InitialEventsEnd {
			acc.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		b.GetObjectKind().SetGroupVersionKind(sv.res.GVK())
		if t.as == "Table" {
			// Table watches carry bookmarks as empty tables.
			tbl := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/" + t.asVersion, Kind: "Table"}}
			tbl.ResourceVersion = acc.GetResourceVersion()
			return tbl, watch.Bookmark, nil
		}
		return b, watch.Bookmark, nil
	}
	if t.as != "" {
		out, err := s.transform(r, sv, t, []runtime.Object{ev.Object}, nil, !*first)
		*first = false
		return out, ev.Type, err
	}
	// The object may be shared with the watch cache: set the served
	// TypeMeta on a copy.
	out, err := toServed(sv, cacher.ShallowCopy(ev.Object))
	return out, ev.Type, err
}
