package job

import (
	"testing"
	"time"
)

func TestIndexSetRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		completions int
		want        string
	}{
		{name: "empty", in: "", completions: 5, want: ""},
		{name: "single", in: "3", completions: 5, want: "3"},
		{name: "ranges merge", in: "0,1,2,4", completions: 5, want: "0-2,4"},
		{name: "out of range dropped", in: "1-3,7", completions: 3, want: "1-2"},
		{name: "malformed parts skipped", in: "x,2,3-y", completions: 5, want: "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseIndexes(tc.in, tc.completions).String(); got != tc.want {
				t.Errorf("parseIndexes(%q, %d) = %q, want %q", tc.in, tc.completions, got, tc.want)
			}
		})
	}
}

func TestBackoffDelay(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		want     time.Duration
	}{
		{name: "first failure", failures: 1, want: 10 * time.Second},
		{name: "third failure doubles twice", failures: 3, want: 40 * time.Second},
		{name: "capped at ten minutes", failures: 20, want: 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoffDelay(tc.failures); got != tc.want {
				t.Errorf("backoffDelay(%d) = %v, want %v", tc.failures, got, tc.want)
			}
		})
	}
}

func TestBackoffStoreResetsOnSuccess(t *testing.T) {
	b := newBackoffStore()
	now := time.Now()
	b.record("ns/j", "a", true, now)
	b.record("ns/j", "a", true, now) // the same pod counts once
	if got := b.remaining("ns/j", now); got != 10*time.Second {
		t.Fatalf("remaining after one failure = %v, want 10s", got)
	}
	b.record("ns/j", "b", false, now)
	if got := b.remaining("ns/j", now); got != 0 {
		t.Fatalf("remaining after a success = %v, want 0", got)
	}
}
