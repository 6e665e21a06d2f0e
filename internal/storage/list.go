package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Predicate selects objects for lists and watches; nil matches everything.
type Predicate func(obj runtime.Object) bool

// ListOptions follow metav1.ListOptions' resourceVersion semantics.
type ListOptions struct {
	// ResourceVersion: "" or "0" read the latest revision; otherwise see Match.
	ResourceVersion string
	// Match: Exact reads at ResourceVersion; NotOlderThan (and unset) read
	// the latest revision, which must not be older than ResourceVersion.
	Match metav1.ResourceVersionMatch
	// Limit caps the items returned; 0 means no limit.
	Limit int64
	// Continue resumes a paginated list at the revision of its first page.
	Continue string
	// Predicate filters items; a filtered list still fills Limit.
	Predicate Predicate
	// Hashes asks for ListResult.Hashes (the watch cache keeps them).
	Hashes bool
}

// ListResult is one page of a list.
type ListResult struct {
	Items []runtime.Object
	// Hashes, when ListOptions.Hashes asked for them, are the xxHash64 of
	// the items' stored bytes (see Cached.Hash), by index.
	Hashes             []uint64
	ResourceVersion    int64
	Continue           string
	RemainingItemCount *int64
}

// continueToken is upstream's format, so tokens look the same to clients.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

func encodeContinue(rev int64, relKey string) (string, error) {
	b, err := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", ResourceVersion: rev, StartKey: relKey})
	if err != nil {
		return "", fmt.Errorf("encode continue token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// EncodeContinue makes a continue token for a list at rev resuming at
// relKey (relative to the list prefix); the watch cache issues the same
// tokens as the store so either can serve the next page.
func EncodeContinue(rev int64, relKey string) (string, error) { return encodeContinue(rev, relKey) }

// DecodeContinue parses a continue token into its revision and start key
// (relative to the list prefix).
func DecodeContinue(token string) (int64, string, error) {
	data, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(data, &t); err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	if t.APIVersion != "meta.k8s.io/v1" || t.ResourceVersion <= 0 {
		return 0, "", fmt.Errorf("%w: unsupported token", ErrInvalidContinue)
	}
	if strings.Contains(t.StartKey, "..") || strings.HasPrefix(t.StartKey, "/") {
		return 0, "", fmt.Errorf("%w: bad start key", ErrInvalidContinue)
	}
	return t.ResourceVersion, t.StartKey, nil
}

// List reads the objects under prefix (which must end in "/").
func (s *Store) List(ctx context.Context, prefix, typ string, opts ListOptions) (*ListResult, error) {
	rangeEnd := clientv3.GetPrefixRangeEnd(prefix)
	start := prefix
	var rev, minRev int64
	switch {
	case opts.Continue != "":
		r, rel, err := DecodeContinue(opts.Continue)
		if err != nil {
			return nil, err
		}
		rev, start = r, prefix+rel
	default:
		r, err := ParseRV(opts.ResourceVersion)
		if err != nil {
			return nil, err
		}
		if opts.Match == metav1.ResourceVersionMatchExact {
			rev = r
		} else {
			minRev = r
		}
	}
	res := &ListResult{}
	pageSize := opts.Limit
	first := true
	for {
		etcdOpts := []clientv3.OpOption{clientv3.WithRange(rangeEnd)}
		if rev > 0 {
			etcdOpts = append(etcdOpts, clientv3.WithRev(rev))
		}
		if pageSize > 0 {
			etcdOpts = append(etcdOpts, clientv3.WithLimit(pageSize))
		}
		t0 := time.Now()
		resp, err := s.client.Get(ctx, start, etcdOpts...)
		s.observe("list", typ, t0)
		if err != nil {
			switch {
			case errors.Is(err, rpctypes.ErrCompacted):
				e := &Error{Err: ErrExpired, Key: prefix, Current: rev}
				if opts.Continue == "" {
					// Upstream's message for an exact list below the compaction.
					e.Msg = "The resourceVersion for the provided list is too old."
				}
				return nil, e
			case errors.Is(err, rpctypes.ErrFutureRev):
				return nil, &Error{Err: ErrTooLargeRV, Key: prefix}
			}
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
			if minRev > rev {
				return nil, &Error{Err: ErrTooLargeRV, Key: prefix, Current: rev}
			}
		}
		if first && opts.Predicate == nil && opts.Limit > 0 && resp.More {
			n := resp.Count - int64(len(resp.Kvs))
			res.RemainingItemCount = &n
		}
		first = false
		if res.Items == nil {
			res.Items = make([]runtime.Object, 0, len(resp.Kvs))
		}
		for i, kv := range resp.Kvs {
			obj, err := s.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return nil, fmt.Errorf("list %s: key %s: %w", prefix, kv.Key, err)
			}
			if opts.Predicate != nil && !opts.Predicate(obj) {
				continue
			}
			res.Items = append(res.Items, obj)
			if opts.Hashes {
				res.Hashes = append(res.Hashes, s.hash(kv.Value))
			}
			if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
				if i < len(resp.Kvs)-1 || resp.More {
					tok, err := encodeContinue(rev, string(kv.Key[len(prefix):])+"\x00")
					if err != nil {
						return nil, err
					}
					res.Continue = tok
				}
				res.ResourceVersion = rev
				return res, nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		// The predicate dropped items: fetch bigger pages to fill the limit.
		if pageSize > 0 && pageSize < 10000 {
			pageSize *= 2
		}
	}
	res.ResourceVersion = rev
	return res, nil
}
