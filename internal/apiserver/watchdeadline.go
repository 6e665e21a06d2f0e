package apiserver

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// defaultWatchWriteTimeout is Config.WatchWriteTimeout's default. Upstream
// kube-apiserver has no per-write bound on watches (a stuck write holds the
// request until the connection dies, kubernetes#111886); 30 s is the
// no-progress bound upstream proposes for sending a watch's initial events
// (kubernetes#141899) and half of its 60 s --request-timeout: far longer
// than a healthy client (client-go drains a watch into an unbounded queue)
// ever stops reading.
const defaultWatchWriteTimeout = 30 * time.Second

// Reasons of apiserver_watch_terminated_total.
const (
	watchEndWriteTimeout = "write_timeout"
	watchEndWriteError   = "write_error"
)

// stallCutter ends watch writes that block longer than the timeout.
//
// Setting a write deadline before every write and clearing it after
// (http.ResponseController.SetWriteDeadline) would do, but over HTTP/2
// each call is a message to the connection's goroutine and a timer reset:
// with 100 watchers it cost a fifth more CPU per event
// (BenchmarkWatchFanOut). And a deadline cannot simply stay armed: an
// HTTP/2 stream is reset when its deadline passes even while idle. So a
// watch only stamps when its current write began (one atomic store), and
// one goroutine looks over all watches a few times per timeout; a write
// older than the timeout gets a deadline in the past, which over HTTP/1.1
// fails the blocked write on the connection and over HTTP/2 resets the
// stream, waking the handler that waits for flow-control credit. A write
// is thus cut between timeout and timeout plus one sweep period.
type stallCutter struct {
	timeout time.Duration
	// epoch is the base of the monotonic stamps in watchWriter.since.
	epoch time.Time

	mu     sync.Mutex // guards active; held while cutting so a watch cannot end under it
	active map[*watchWriter]struct{}
}

func newStallCutter(timeout time.Duration) *stallCutter {
	return &stallCutter{timeout: timeout, epoch: time.Now(), active: map[*watchWriter]struct{}{}}
}

// watchWriter is one watch's write state, seen by the cutter.
type watchWriter struct {
	c  *stallCutter
	rc *http.ResponseController
	// since is when the current write or flush began (nanoseconds after
	// c.epoch, at least 1); 0 while the watch waits for events.
	since atomic.Int64
	// cut is set by the cutter before it expires the write.
	cut atomic.Bool
}

// track registers a watch; nil when the cutter is disabled. The caller
// must call untrack before its handler returns.
func (c *stallCutter) track(w http.ResponseWriter) *watchWriter {
	if c == nil {
		return nil
	}
	ww := &watchWriter{c: c, rc: http.NewResponseController(w)}
	c.mu.Lock()
	c.active[ww] = struct{}{}
	c.mu.Unlock()
	return ww
}

func (c *stallCutter) untrack(ww *watchWriter) {
	if ww == nil {
		return
	}
	c.mu.Lock()
	delete(c.active, ww)
	c.mu.Unlock()
}

// writing stamps the start of a write or flush.
func (ww *watchWriter) writing() {
	if ww != nil {
		ww.since.Store(int64(time.Since(ww.c.epoch)) | 1)
	}
}

// idle says the watch wrote everything and waits for events.
func (ww *watchWriter) idle() {
	if ww != nil {
		ww.since.Store(0)
	}
}

// reason classifies a failed write.
func (ww *watchWriter) reason() string {
	if ww != nil && ww.cut.Load() {
		return watchEndWriteTimeout
	}
	return watchEndWriteError
}

// run sweeps until ctx ends.
func (c *stallCutter) run(ctx context.Context) {
	period := min(c.timeout/4, time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sweep()
		}
	}
}

func (c *stallCutter) sweep() {
	now := int64(time.Since(c.epoch))
	c.mu.Lock()
	defer c.mu.Unlock()
	for ww := range c.active {
		since := ww.since.Load()
		if since == 0 || time.Duration(now-since) < c.timeout || ww.cut.Load() {
			continue
		}
		ww.cut.Store(true)
		// An error means the writer cannot take deadlines; the watch
		// then runs unbounded, as before, and only HTTP/2's
		// connection-level WriteByteTimeout can end it.
		_ = ww.rc.SetWriteDeadline(time.Now().Add(-time.Second))
	}
}
