package apiserver

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSeatLimiter(t *testing.T) {
	ctx := context.Background()
	l := newSeatLimiter(1, 1, time.Hour, nil, nil)
	if queued, err := l.acquire(ctx); err != nil || queued {
		t.Fatalf("first acquire: queued %v, err %v", queued, err)
	}

	// The second request waits for the seat and gets it when the first
	// releases.
	got := make(chan error, 1)
	go func() {
		queued, err := l.acquire(ctx)
		if err == nil && !queued {
			err = errors.New("second acquire did not queue")
		}
		got <- err
	}()
	for l.queued() != 1 {
		time.Sleep(time.Millisecond)
	}
	// The queue holds one: a third request is refused at once.
	if _, err := l.acquire(ctx); !errors.Is(err, errQueueFull) {
		t.Fatalf("third acquire: err %v, want errQueueFull", err)
	}
	l.release()
	if err := <-got; err != nil {
		t.Fatalf("queued acquire: %v", err)
	}

	// A waiter gives up at its deadline, and when its request is cancelled.
	short := newSeatLimiter(1, 4, 10*time.Millisecond, nil, nil)
	if _, err := short.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := short.acquire(ctx); !errors.Is(err, errQueueTimeout) {
		t.Fatalf("deadline: err %v, want errQueueTimeout", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	long := newSeatLimiter(1, 4, time.Hour, nil, nil)
	if _, err := long.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := long.acquire(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err %v, want context.Canceled", err)
	}
	if long.queued() != 0 || short.queued() != 0 {
		t.Fatalf("waiters left behind: %d, %d", long.queued(), short.queued())
	}
}
