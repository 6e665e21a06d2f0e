package apiserver

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// errQueueFull and errQueueTimeout are why a request found no seat; both
// become 429 with Retry-After 1 s.
var (
	errQueueFull    = errors.New("in-flight queue is full")
	errQueueTimeout = errors.New("timed out waiting for an in-flight seat")
)

// seatLimiter bounds concurrent requests of one kind and, instead of
// refusing a request the moment every seat is taken, lets a bounded number
// wait up to a deadline: a burst such as a replication controller creating
// 500 pods at once then queues for milliseconds instead of bouncing with
// 429 and coming back a second later (what upstream's priority-and-fairness
// queues give, without its per-flow fairness).
type seatLimiter struct {
	seats   chan struct{}
	waiters chan struct{} // one token per queued request
	wait    time.Duration
	waiting prometheus.Gauge // requests queued now; may be nil
	busy    prometheus.Gauge // seats taken now; may be nil
}

// newSeatLimiter's gauges are resolved once here, not per request.
func newSeatLimiter(seats, queue int, wait time.Duration, waiting, busy prometheus.Gauge) *seatLimiter {
	return &seatLimiter{seats: make(chan struct{}, seats), waiters: make(chan struct{}, queue), wait: wait, waiting: waiting, busy: busy}
}

// acquire takes a seat, queueing if needed; queued reports whether it had
// to wait. The caller must call release once done if err is nil.
func (l *seatLimiter) acquire(ctx context.Context) (queued bool, err error) {
	select {
	case l.seats <- struct{}{}:
		l.took()
		return false, nil
	default:
	}
	select {
	case l.waiters <- struct{}{}:
	default:
		return false, errQueueFull
	}
	if l.waiting != nil {
		l.waiting.Inc()
	}
	defer func() {
		<-l.waiters
		if l.waiting != nil {
			l.waiting.Dec()
		}
	}()
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.seats <- struct{}{}:
		l.took()
		return true, nil
	case <-t.C:
		return true, errQueueTimeout
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

func (l *seatLimiter) took() {
	if l.busy != nil {
		l.busy.Inc()
	}
}

func (l *seatLimiter) release() {
	<-l.seats
	if l.busy != nil {
		l.busy.Dec()
	}
}

// queued is how many requests wait now.
func (l *seatLimiter) queued() int { return len(l.waiters) }
