package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Store is a typed view of etcd. It is safe for concurrent use.
type Store struct {
	client  *clientv3.Client
	codec   *Codec
	metrics *Metrics
}

// New returns a store over client. metrics may be nil.
func New(client *clientv3.Client, codec *Codec, metrics *Metrics) *Store {
	return &Store{client: client, codec: codec, metrics: metrics}
}

// Client is the etcd client, for health checks and revision reads.
func (s *Store) Client() *clientv3.Client { return s.client }

// Codec is the codec values are written with.
func (s *Store) Codec() *Codec { return s.codec }

func (s *Store) observe(op, typ string, start time.Time) {
	if s.metrics != nil {
		s.metrics.observe(op, typ, time.Since(start))
	}
}

// observeCached counts a write that started from a cached copy; hit is
// whether it ended on that copy (committed or decided on it) rather than
// on etcd's object read after it (the state is then no longer stale).
func (s *Store) observeCached(op, typ string, hit bool) {
	if s.metrics != nil {
		s.metrics.cachedWrite(op, typ, hit)
	}
}

// SetRV stamps an object with an etcd revision as its resourceVersion.
func SetRV(obj runtime.Object, rev int64) {
	if acc, err := meta.Accessor(obj); err == nil {
		acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
}

// ParseRV turns a resourceVersion into an etcd revision; "" is 0.
func ParseRV(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid resource version %q", rv)
	}
	return n, nil
}

func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, err := s.codec.Decode(data)
	if err != nil {
		return nil, err
	}
	SetRV(obj, rev)
	return obj, nil
}

// Get returns the object at key with resourceVersion set.
func (s *Store) Get(ctx context.Context, key, typ string) (runtime.Object, error) {
	start := time.Now()
	resp, err := s.client.Get(ctx, key)
	s.observe("get", typ, start)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, newErr(ErrNotFound, key)
	}
	return s.decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// Create writes obj at key if nothing is there and returns it with its new
// resourceVersion.
func (s *Store) Create(ctx context.Context, key, typ string, obj runtime.Object) (runtime.Object, error) {
	data, err := s.codec.Encode(obj)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, unsafeString(data))).
		Commit()
	s.observe("create", typ, start)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	if !resp.Succeeded {
		return nil, newErr(ErrExists, key)
	}
	SetRV(obj, resp.Header.Revision)
	return obj, nil
}

// UpdateFunc computes the next version of an object from the current one
// (nil when the key does not exist and creation is allowed). The current
// object belongs to the call: fn may modify it and return it. Returning
// the same bytes as stored makes the update a no-op that keeps the
// resourceVersion, as upstream does. fn may run more than once.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// GuaranteedUpdate applies fn until it commits without a concurrent write
// in between. fn decides about user preconditions (e.g. a stale
// resourceVersion) by returning an error. It returns the stored object and
// whether it was created.
func (s *Store) GuaranteedUpdate(ctx context.Context, key, typ string, allowCreate bool, fn UpdateFunc) (runtime.Object, bool, error) {
	return s.GuaranteedUpdateFrom(ctx, key, typ, allowCreate, nil, fn)
}

// GuaranteedUpdateFrom is GuaranteedUpdate starting from cached, a possibly
// stale copy of the object (the watch cache's), instead of reading etcd
// first, as upstream's cachedExistingObject: an update then costs one etcd
// round trip, not two. The write still compares etcd's mod revision with
// cached.Rev, so a stale copy only costs a retry from etcd's current
// object; an error from fn or a result that looks like a no-op on the
// cached copy is likewise decided again on etcd's object. cached may be
// nil; it is never modified (fn gets a deep copy unless cached.Shared).
func (s *Store) GuaranteedUpdateFrom(ctx context.Context, key, typ string, allowCreate bool, cached *Cached, fn UpdateFunc) (runtime.Object, bool, error) {
	var (
		st  updateState
		err error
	)
	if cached.usable(true) {
		st = s.cachedState(cached)
		defer func() { s.observeCached("update", typ, st.stale) }()
	} else if st, err = s.readState(ctx, key, typ); err != nil {
		return nil, false, fmt.Errorf("update %s: %w", key, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if st.obj == nil && !allowCreate {
			return nil, false, newErr(ErrNotFound, key)
		}
		cur := st.obj
		next, err := fn(cur)
		if err != nil {
			if st.stale {
				// The verdict may be the cached copy's: ask etcd's.
				if st, err = s.readState(ctx, key, typ); err != nil {
					return nil, false, fmt.Errorf("update %s: %w", key, err)
				}
				continue
			}
			return nil, false, err
		}
		if st.shared && next == cur {
			// Encoding stamps the object: not the shared one.
			next = s.ownCopy(cur)
		}
		data, err := s.codec.Encode(next)
		if err != nil {
			return nil, false, err
		}
		if cur != nil {
			if !st.stale && bytes.Equal(data, st.data) {
				SetRV(next, st.rev)
				return next, false, nil
			}
			if st.stale && s.hash(data) == st.hash {
				// Looks like a no-op; only etcd's bytes can confirm it.
				now, err := s.readState(ctx, key, typ)
				if err != nil {
					return nil, false, fmt.Errorf("update %s: %w", key, err)
				}
				if now.obj != nil && now.rev == st.rev && bytes.Equal(data, now.data) {
					SetRV(next, st.rev)
					return next, false, nil
				}
				st = now
				continue
			}
		}
		var cmp clientv3.Cmp
		if cur == nil {
			cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		} else {
			cmp = clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)
		}
		start := time.Now()
		tresp, err := s.client.Txn(ctx).If(cmp).
			Then(clientv3.OpPut(key, unsafeString(data))).
			Else(clientv3.OpGet(key)).
			Commit()
		s.observe("update", typ, start)
		if err != nil {
			return nil, false, fmt.Errorf("update %s: %w", key, err)
		}
		if tresp.Succeeded {
			SetRV(next, tresp.Header.Revision)
			return next, cur == nil, nil
		}
		// Someone else wrote in between (or the cached copy was stale):
		// start again from what etcd holds now, which the Txn read.
		if st, err = s.rangeState(tresp.Responses[0].GetResponseRange()); err != nil {
			return nil, false, fmt.Errorf("update %s: %w", key, err)
		}
	}
}

// DeleteCheck may veto a delete of the current object (preconditions). It
// must not modify the object.
type DeleteCheck func(current runtime.Object) error

// Delete removes key if check accepts the current object and returns that
// object stamped with the deletion's revision.
func (s *Store) Delete(ctx context.Context, key, typ string, check DeleteCheck) (runtime.Object, error) {
	return s.DeleteFrom(ctx, key, typ, nil, check)
}

// DeleteFrom is Delete starting from cached, a possibly stale copy of the
// object, as GuaranteedUpdateFrom: the delete compares etcd's mod revision
// with cached.Rev, and a veto by check or a failed compare is decided
// again on etcd's current object. cached may be nil and is never modified.
func (s *Store) DeleteFrom(ctx context.Context, key, typ string, cached *Cached, check DeleteCheck) (runtime.Object, error) {
	var (
		st  updateState
		err error
	)
	if cached.usable(false) {
		// check only reads: the copy is made once the delete succeeded.
		st = updateState{obj: cached.Obj, rev: cached.Rev, stale: true}
		defer func() { s.observeCached("delete", typ, st.stale) }()
	} else if st, err = s.readState(ctx, key, typ); err != nil {
		return nil, fmt.Errorf("delete %s: %w", key, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if st.obj == nil {
			return nil, newErr(ErrNotFound, key)
		}
		if check != nil {
			if err := check(st.obj); err != nil {
				if st.stale {
					if st, err = s.readState(ctx, key, typ); err != nil {
						return nil, fmt.Errorf("delete %s: %w", key, err)
					}
					continue
				}
				return nil, err
			}
		}
		start := time.Now()
		tresp, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", st.rev)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		s.observe("delete", typ, start)
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if tresp.Succeeded {
			out := st.obj
			if st.stale {
				out = s.ownCopy(out)
			}
			SetRV(out, tresp.Header.Revision)
			return out, nil
		}
		if st, err = s.rangeState(tresp.Responses[0].GetResponseRange()); err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
	}
}

// unsafeString views encoded bytes as the string etcd's OpPut takes,
// without copying an object's worth of bytes per write: data is never
// modified after encoding, and the client has marshalled the request by
// the time Commit returns.
func unsafeString(data []byte) string { return unsafe.String(unsafe.SliceData(data), len(data)) }

// CurrentRevision reads etcd's current revision without reading data.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/registry/health-revision", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Count returns how many keys are under prefix.
func (s *Store) Count(ctx context.Context, prefix string) (int64, error) {
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", prefix, err)
	}
	return resp.Count, nil
}

// IsNotFound and friends test the sentinel errors through wrapping.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
