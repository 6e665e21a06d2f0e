package storage_test

import (
	"sync"
	"testing"

	"kplane/internal/storage"
)

// TestEncodedFillsOncePerKey: concurrent writers of one event share one
// encoding per key; Reset makes the next Get encode again.
func TestEncodedFillsOncePerKey(t *testing.T) {
	var e storage.Encoded
	fills := map[string]int{}
	var mu sync.Mutex
	fill := func(key string) func() ([]byte, error) {
		return func() ([]byte, error) {
			mu.Lock()
			fills[key]++
			mu.Unlock()
			return []byte(key), nil
		}
	}
	var wg sync.WaitGroup
	for range 50 {
		for _, key := range []string{"json", "proto"} {
			wg.Go(func() {
				b, err := e.Get(key, fill(key))
				if err != nil || string(b) != key {
					t.Errorf("Get(%s) = %q, %v", key, b, err)
				}
			})
		}
	}
	wg.Wait()
	if fills["json"] != 1 || fills["proto"] != 1 {
		t.Fatalf("fills = %v, want one per key", fills)
	}
	e.Reset()
	if _, err := e.Get("json", fill("json")); err != nil || fills["json"] != 2 {
		t.Fatalf("after Reset: %d json fills, %v", fills["json"], err)
	}
	var none *storage.Encoded
	if b, _ := none.Get("x", fill("x")); string(b) != "x" {
		t.Fatalf("nil Encoded: %q", b)
	}
}
