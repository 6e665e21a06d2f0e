package etcd

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Defaults applied by New when the corresponding Config field is zero.
const (
	DefaultName                          = "kplane"
	DefaultClientURL                     = "http://127.0.0.1:0"
	DefaultPeerURL                       = "http://127.0.0.1:0"
	DefaultQuotaBackendBytes       int64 = 8 << 30 // 8 GiB, etcd's recommended maximum
	DefaultAutoCompactionRetention       = "5m"
	DefaultStartTimeout                  = 30 * time.Second
	// DefaultWatchProgressNotifyInterval matches what Kubernetes recommends
	// for etcd so watch caches learn the current revision on quiet keys.
	DefaultWatchProgressNotifyInterval = 5 * time.Second
)

// Config describes one embedded etcd member. The zero value plus DataDir is a
// working single-node server on free loopback ports.
type Config struct {
	// DataDir holds etcd's WAL and snapshots (the member/ directory). It is
	// created with mode 0700 if missing. Required. kplane passes
	// <data-dir>/etcd.
	DataDir string

	// Name is the member name, recorded in the WAL. Default "kplane".
	Name string

	// ClientURL is where etcd serves clients. Default
	// "http://127.0.0.1:0"; port 0 picks a free port at Start. A fixed port
	// ("http://127.0.0.1:2379") and unix sockets ("unix:///path/etcd.sock")
	// also work. https is not supported here (the embedded server is
	// reached over loopback or a private socket).
	ClientURL string

	// PeerURL is the raft peer URL. A single-member cluster never dials it,
	// but etcd must bind it. Default "http://127.0.0.1:0" (free port).
	PeerURL string

	// Logger receives etcd's own logs, bridged from zap. Default
	// slog.Default().
	Logger *slog.Logger

	// LogLevel is the lowest etcd log level forwarded to Logger. Default
	// slog.LevelWarn: etcd logs hundreds of info lines per start.
	LogLevel *slog.Level

	// QuotaBackendBytes is the backend size (bytes) at which etcd raises a
	// NOSPACE alarm and refuses writes. Default 8 GiB.
	QuotaBackendBytes int64

	// AutoCompactionRetention is the periodic compaction window, as a Go
	// duration string. Default "5m". "0" disables etcd's own compaction
	// (the API server may compact instead).
	AutoCompactionRetention string

	// SnapshotCount is the number of applied raft entries between snapshots.
	// Default 0 means etcd's default (10,000).
	SnapshotCount uint64

	// UnsafeNoFsync disables fsync of the WAL and backend. Default false:
	// with it false, a write etcd acknowledged survives kill -9 and power
	// loss. Only for disposable benchmark clusters.
	UnsafeNoFsync bool

	// StartTimeout bounds how long Start waits for etcd to become ready.
	// Default 30s (a cold start on an empty dir takes well under a second;
	// replaying a large WAL takes longer).
	StartTimeout time.Duration

	// WatchProgressNotifyInterval is how often etcd sends progress
	// notifications on idle watches. Default 5s.
	WatchProgressNotifyInterval time.Duration
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.ClientURL == "" {
		c.ClientURL = DefaultClientURL
	}
	if c.PeerURL == "" {
		c.PeerURL = DefaultPeerURL
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LogLevel == nil {
		lvl := slog.LevelWarn
		c.LogLevel = &lvl
	}
	if c.QuotaBackendBytes == 0 {
		c.QuotaBackendBytes = DefaultQuotaBackendBytes
	}
	if c.AutoCompactionRetention == "" {
		c.AutoCompactionRetention = DefaultAutoCompactionRetention
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.WatchProgressNotifyInterval == 0 {
		c.WatchProgressNotifyInterval = DefaultWatchProgressNotifyInterval
	}
	return c
}

// Validate reports every problem with c (after defaults are applied) at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("etcd: DataDir is required"))
	}
	if err := validateURL("ClientURL", c.ClientURL); err != nil {
		errs = append(errs, err)
	}
	if err := validateURL("PeerURL", c.PeerURL); err != nil {
		errs = append(errs, err)
	}
	if c.QuotaBackendBytes < 0 {
		errs = append(errs, fmt.Errorf("etcd: QuotaBackendBytes must not be negative, got %d", c.QuotaBackendBytes))
	}
	if c.AutoCompactionRetention != "0" {
		if d, err := time.ParseDuration(c.AutoCompactionRetention); err != nil {
			errs = append(errs, fmt.Errorf("etcd: AutoCompactionRetention %q: %w", c.AutoCompactionRetention, err))
		} else if d < 0 {
			errs = append(errs, fmt.Errorf("etcd: AutoCompactionRetention must not be negative, got %q", c.AutoCompactionRetention))
		}
	}
	if c.StartTimeout < 0 {
		errs = append(errs, fmt.Errorf("etcd: StartTimeout must not be negative, got %s", c.StartTimeout))
	}
	if c.WatchProgressNotifyInterval < 0 {
		errs = append(errs, fmt.Errorf("etcd: WatchProgressNotifyInterval must not be negative, got %s", c.WatchProgressNotifyInterval))
	}
	return errors.Join(errs...)
}

func validateURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("etcd: %s: %w", field, err)
	}
	switch u.Scheme {
	case "http":
		if u.Hostname() == "" || u.Port() == "" {
			return fmt.Errorf("etcd: %s %q must have a host and port (use port 0 for a free port)", field, raw)
		}
	case "unix":
		if u.Host+u.Path == "" {
			return fmt.Errorf("etcd: %s %q has no socket path", field, raw)
		}
	default:
		return fmt.Errorf("etcd: %s %q: scheme must be http or unix, got %q", field, raw, u.Scheme)
	}
	return nil
}
