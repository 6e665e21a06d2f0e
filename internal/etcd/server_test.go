package etcd

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// startServer starts a server on dir with test-friendly logging and closes
// it at test end. It returns the server and how long Start took.
func startServer(t *testing.T, dir string, mutate func(*Config)) (*Server, time.Duration) {
	t.Helper()
	cfg := Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begin := time.Now()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	took := time.Since(begin)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, took
}

// testWriter sends log output to t.Log so it shows only on failure or -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func client(t *testing.T, s *Server) *clientv3.Client {
	t.Helper()
	c, err := s.Client()
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func put(t *testing.T, c *clientv3.Client, k, v string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, k, v); err != nil {
		t.Fatalf("Put %s: %v", k, err)
	}
}

func get(t *testing.T, c *clientv3.Client, k string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get %s: %v", k, err)
	}
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}

func TestRestartKeepsData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etcd")

	s, cold := startServer(t, dir, nil)
	t.Logf("cold start on empty dir took %s, endpoints %v", cold, s.Endpoints())
	if eps := s.Endpoints(); len(eps) != 1 || strings.HasSuffix(eps[0], ":0") {
		t.Fatalf("Endpoints() = %v, want one endpoint with a real port", eps)
	}
	put(t, client(t, s), "/registry/pods/default/a", "v1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if eps := s.Endpoints(); eps != nil {
		t.Errorf("Endpoints() after Close = %v, want nil", eps)
	}

	// A restart picks new free ports; etcd must still accept its WAL.
	s2, warm := startServer(t, dir, nil)
	t.Logf("warm start on existing dir took %s, endpoints %v", warm, s2.Endpoints())
	v, ok := get(t, client(t, s2), "/registry/pods/default/a")
	if !ok || v != "v1" {
		t.Fatalf("after restart got (%q, %v), want (\"v1\", true)", v, ok)
	}
}

func TestTwoServersInOneProcess(t *testing.T) {
	root := t.TempDir()
	a, _ := startServer(t, filepath.Join(root, "a"), nil)
	b, _ := startServer(t, filepath.Join(root, "b"), nil)
	if a.Endpoints()[0] == b.Endpoints()[0] {
		t.Fatalf("both servers on %s", a.Endpoints()[0])
	}
	ca, cb := client(t, a), client(t, b)
	put(t, ca, "k", "from-a")
	put(t, cb, "k", "from-b")
	for _, tc := range []struct {
		name string
		c    *clientv3.Client
		want string
	}{
		{"a", ca, "from-a"},
		{"b", cb, "from-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, _ := get(t, tc.c, "k"); v != tc.want {
				t.Errorf("got %q, want %q", v, tc.want)
			}
		})
	}
}

func TestUnixSocketClientURL(t *testing.T) {
	// Socket paths are limited to ~100 bytes; t.TempDir can be long.
	dir := t.TempDir()
	sock := filepath.Join(dir, "c.sock")
	if len(sock) > 100 {
		t.Skipf("temp dir too long for a unix socket path: %s", sock)
	}
	s, _ := startServer(t, filepath.Join(dir, "etcd"), func(c *Config) { c.ClientURL = "unix://" + sock })
	if got, want := s.Endpoints(), []string{"unix://" + sock}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Endpoints() = %v, want %v", got, want)
	}
	c := client(t, s)
	put(t, c, "k", "v")
	if v, ok := get(t, c, "k"); !ok || v != "v" {
		t.Fatalf("got (%q, %v), want (\"v\", true)", v, ok)
	}
}

func TestNewClientProbes(t *testing.T) {
	s, _ := startServer(t, filepath.Join(t.TempDir(), "etcd"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := NewClient(ctx, s.Endpoints(), nil)
	if err != nil {
		t.Fatalf("NewClient to running server: %v", err)
	}
	_ = c.Close()

	// A port nobody listens on: the probe must fail when ctx expires.
	dead, _, err := resolvePort("http://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if c, err := NewClient(short, []string{dead.String()}, nil); err == nil {
		_ = c.Close()
		t.Fatal("NewClient to a dead endpoint succeeded, want error")
	}
}

func TestStartStates(t *testing.T) {
	s, _ := startServer(t, filepath.Join(t.TempDir(), "etcd"), nil)
	if err := s.Start(context.Background()); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Start: got %v, want ErrAlreadyStarted", err)
	}
	_ = s.Close()
	if err := s.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: got %v, want ErrClosed", err)
	}
	if _, err := s.Client(); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Client after Close: got %v, want ErrNotStarted", err)
	}

	fresh, err := New(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.Close(); err != nil {
		t.Errorf("Close before Start: %v", err)
	}
}

func TestStartCancelled(t *testing.T) {
	s, err := New(Config{DataDir: filepath.Join(t.TempDir(), "etcd"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Start may win the race with an already-cancelled context only if etcd
	// is ready before select runs; an empty dir never is that fast.
	if err := s.Start(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with cancelled ctx: got %v, want context.Canceled", err)
	}
	if eps := s.Endpoints(); eps != nil {
		t.Errorf("Endpoints after failed Start = %v, want nil", eps)
	}
}
