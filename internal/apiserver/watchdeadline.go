package apiserver

import (
	"errors"
	"net/http"
	"os"
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

// writeDeadline bounds the writes of one watch with the connection's write
// deadline (http.ResponseController.SetWriteDeadline): over HTTP/1.1 a
// deadline on the connection, over HTTP/2 a timer that resets the stream,
// which unblocks a handler waiting for flow-control credit.
//
// A deadline is armed only while writing: an HTTP/2 stream is reset when
// its deadline passes even if nothing is being written, and a watch may be
// idle for minutes. Arming costs a message to the HTTP/2 connection's
// goroutine, so it is done once per burst of events (arm before the first
// write, clear after the flush that empties the queue), re-armed during a
// long burst only once half the timeout has gone: a blocked write is cut
// off between timeout/2 and timeout after it began.
type writeDeadline struct {
	rc      *http.ResponseController
	timeout time.Duration
	// armed is when the current deadline was set; zero when none is.
	armed time.Time
	// off: disabled, or the writer does not support deadlines.
	off bool
}

func newWriteDeadline(w http.ResponseWriter, timeout time.Duration) *writeDeadline {
	return &writeDeadline{rc: http.NewResponseController(w), timeout: timeout, off: timeout <= 0}
}

// arm makes sure a deadline is set before a write; it reports false when
// deadlines are not supported (the watch then runs unbounded, as before,
// and only the HTTP/2 connection-level WriteByteTimeout can end it).
func (d *writeDeadline) arm() bool {
	if d.off {
		return false
	}
	now := time.Now()
	if !d.armed.IsZero() && now.Sub(d.armed) < d.timeout/2 {
		return true
	}
	if err := d.rc.SetWriteDeadline(now.Add(d.timeout)); err != nil {
		d.off = true
		return false
	}
	d.armed = now
	return true
}

// disarm clears the deadline once the queued events are written.
func (d *writeDeadline) disarm() {
	if d.off || d.armed.IsZero() {
		return
	}
	_ = d.rc.SetWriteDeadline(time.Time{})
	d.armed = time.Time{}
}

// reason classifies a failed write: a timeout when the deadline has passed
// (HTTP/2 reports a reset stream, not a timeout, so the clock decides).
func (d *writeDeadline) reason(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) || (!d.armed.IsZero() && time.Since(d.armed) >= d.timeout) {
		return watchEndWriteTimeout
	}
	return watchEndWriteError
}
