package etcd

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newZapLogger returns a zap logger that forwards entries at or above min to
// l. etcd (server and client) only speaks zap; bridging keeps kplane's logs in
// one format and lets the caller decide where they go. If closing is non-nil
// and set, every entry is demoted to debug: etcd reports its own orderly
// shutdown as a burst of errors ("use of closed network connection").
func newZapLogger(l *slog.Logger, min slog.Level, closing *atomic.Bool) *zap.Logger {
	return zap.New(&slogCore{h: l.Handler(), min: min, closing: closing})
}

// benignMessages are etcd messages logged at warn/error on every healthy
// start of a single-member, auth-less, plaintext loopback server. They say
// nothing an operator can act on, so they are demoted to debug.
var benignMessages = map[string]bool{
	"Running http and grpc server on single port. This is not recommended for production.": true,
	"simple token is not cryptographically signed":                                         true,
	// On a brand-new data dir etcd tries to record the storage version
	// before the first raft term is persisted, and succeeds on its next try.
	"Failed to detect schema version":  true,
	"failed to update storage version": true,
}

// slogCore is a zapcore.Core that writes to a slog.Handler. It is immutable
// apart from *closing: With returns a copy, so it is safe for concurrent use
// as zap requires.
type slogCore struct {
	h       slog.Handler
	min     slog.Level
	closing *atomic.Bool // optional; when true all entries are debug
	attrs   []slog.Attr  // fields added with With, emitted before per-entry fields
}

var _ zapcore.Core = (*slogCore)(nil)

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.enabled(slogLevel(l))
}

func (c *slogCore) enabled(l slog.Level) bool {
	return l >= c.min && c.h.Enabled(context.Background(), l)
}

// level is the slog level an entry is written at, after demotion.
func (c *slogCore) level(e zapcore.Entry) slog.Level {
	if (c.closing != nil && c.closing.Load()) || benignMessages[e.Message] {
		return slog.LevelDebug
	}
	return slogLevel(e.Level)
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	clone := *c
	clone.attrs = append(append([]slog.Attr(nil), c.attrs...), fieldAttrs(fields)...)
	return &clone
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.enabled(c.level(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, c.level(e), e.Message, 0)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(c.attrs...)
	r.AddAttrs(fieldAttrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

func (c *slogCore) Sync() error { return nil }

// slogLevel maps zap levels onto slog's four; DPanic/Panic/Fatal become
// Error (zap itself still panics or exits after writing).
func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// fieldAttrs converts zap fields through zap's own map encoder, which knows
// every field type (errors, durations, arrays, objects) and keeps field order.
func fieldAttrs(fields []zapcore.Field) []slog.Attr {
	if len(fields) == 0 {
		return nil
	}
	attrs := make([]slog.Attr, 0, len(fields))
	for _, f := range fields {
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		for k, v := range enc.Fields {
			attrs = append(attrs, slog.Any(k, v))
		}
	}
	return attrs
}
