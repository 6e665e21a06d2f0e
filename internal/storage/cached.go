package storage

import (
	"context"
	"time"

	"github.com/cespare/xxhash/v2"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"k8s.io/apimachinery/pkg/runtime"
)

// Cached is a copy of the object at a key that the caller already holds,
// typically the watch cache's, which may be stale. Writes that start from
// it (GuaranteedUpdateFrom, DeleteFrom) skip reading etcd first and find
// out it was stale from their compare-and-swap.
type Cached struct {
	// Obj is the object as stored at Rev. It is shared with other readers
	// and never modified.
	Obj runtime.Object
	// Rev is the etcd mod revision Obj was stored at.
	Rev int64
	// Hash is the xxHash64 of the bytes stored at Rev (as watch
	// events and hashed lists carry it), which tells a no-op update
	// without those bytes; 0 means unknown (an update then reads etcd).
	Hash uint64
	// Shared hands Obj itself to the update function instead of a deep
	// copy. The function must then not modify it: it builds its result
	// from a shallow copy with new maps and slices where it writes, which
	// spares copying a whole object to change a field or two.
	Shared bool
}

// usable reports whether a write may start from c; an update (which must
// tell a no-op) needs the hash, a delete does not.
func (c *Cached) usable(needHash bool) bool {
	return c != nil && c.Obj != nil && c.Rev > 0 && (c.Hash != 0 || !needHash)
}

// updateState is the object a write attempt starts from.
type updateState struct {
	// obj belongs to the attempt (except in DeleteFrom's cached state,
	// which only reads it); nil when the key does not exist.
	obj runtime.Object
	// data are the stored bytes when read from etcd; hash stands in for
	// them when stale.
	data []byte
	hash uint64
	// rev is the mod revision, 0 when absent.
	rev int64
	// stale is set when obj is a cached copy, which etcd may have moved
	// past: decisions taken on it (errors, no-ops) are checked on etcd.
	stale bool
	// shared is set when obj is the caller's shared object (Cached.Shared).
	shared bool
}

// cachedState starts an update from the caller's cached copy.
func (s *Store) cachedState(c *Cached) updateState {
	if c.Shared {
		return updateState{obj: c.Obj, hash: c.Hash, rev: c.Rev, stale: true, shared: true}
	}
	return updateState{obj: s.ownCopy(c.Obj), hash: c.Hash, rev: c.Rev, stale: true}
}

// ownCopy deep-copies a shared object and gives it the TypeMeta a decoded
// object carries (the watch cache clears it).
func (s *Store) ownCopy(obj runtime.Object) runtime.Object {
	out := obj.DeepCopyObject()
	if gvks, _, err := s.codec.scheme.ObjectKinds(out); err == nil {
		out.GetObjectKind().SetGroupVersionKind(gvks[0])
	}
	return out
}

// readState reads key's current object from etcd.
func (s *Store) readState(ctx context.Context, key, typ string) (updateState, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, key)
	s.observe("get", typ, start)
	if err != nil {
		return updateState{}, err
	}
	return s.kvState(resp.Kvs)
}

// rangeState is the current object a failed compare-and-swap read back.
func (s *Store) rangeState(r *etcdserverpb.RangeResponse) (updateState, error) {
	if r == nil {
		return updateState{}, nil
	}
	return s.kvState(r.Kvs)
}

func (s *Store) kvState(kvs []*mvccpb.KeyValue) (updateState, error) {
	if len(kvs) == 0 {
		return updateState{}, nil
	}
	kv := kvs[0]
	obj, err := s.decode(kv.Value, kv.ModRevision)
	if err != nil {
		return updateState{}, err
	}
	return updateState{obj: obj, data: kv.Value, rev: kv.ModRevision}, nil
}

// hash is the hash of stored bytes that watch events and hashed lists
// carry for Cached.Hash: xxHash64, unseeded so that every Store over the
// same etcd agrees, and never 0.
func (s *Store) hash(data []byte) uint64 {
	h := xxhash.Sum64(data)
	if h == 0 {
		h = 1 // 0 means unknown
	}
	return h
}
