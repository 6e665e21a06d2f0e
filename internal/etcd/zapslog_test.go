package etcd

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestZapBridge(t *testing.T) {
	tests := []struct {
		name    string
		min     slog.Level
		closing bool
		log     func(*zap.Logger)
		want    []string // substrings of the output; nil means no output
	}{
		{
			name: "warn passes at warn",
			min:  slog.LevelWarn,
			log: func(l *zap.Logger) {
				l.Warn("slow apply", zap.Duration("took", 2*time.Second), zap.Error(errors.New("boom")))
			},
			want: []string{"level=WARN", `msg="slow apply"`, "took=2s", "error=boom"},
		},
		{
			name: "info dropped at warn",
			min:  slog.LevelWarn,
			log:  func(l *zap.Logger) { l.Info("chatty") },
		},
		{
			name: "error maps to ERROR with With fields first",
			min:  slog.LevelWarn,
			log:  func(l *zap.Logger) { l.With(zap.String("member", "m1")).Error("disk full", zap.Int64("bytes", 7)) },
			want: []string{"level=ERROR", "member=m1 bytes=7"},
		},
		{
			name: "benign startup warning demoted",
			min:  slog.LevelWarn,
			log:  func(l *zap.Logger) { l.Warn("simple token is not cryptographically signed") },
		},
		{
			name: "benign warning visible at debug",
			min:  slog.LevelDebug,
			log:  func(l *zap.Logger) { l.Warn("simple token is not cryptographically signed") },
			want: []string{"level=DEBUG"},
		},
		{
			name:    "errors during shutdown demoted",
			min:     slog.LevelWarn,
			closing: true,
			log:     func(l *zap.Logger) { l.Error("setting up serving from embedded etcd failed.") },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var closing atomic.Bool
			closing.Store(tc.closing)
			h := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			tc.log(newZapLogger(slog.New(h), tc.min, &closing))
			out := buf.String()
			if tc.want == nil {
				if out != "" {
					t.Fatalf("got output %q, want none", out)
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q missing %q", out, w)
				}
			}
		})
	}
}
