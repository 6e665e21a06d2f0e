package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors; the API server maps them to metav1.Status in one place.
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("key not found")
	// ErrExists: create found the key already present.
	ErrExists = errors.New("key already exists")
	// ErrConflict: a precondition (resourceVersion, uid) did not hold.
	ErrConflict = errors.New("precondition failed")
	// ErrExpired: the requested revision has been compacted.
	ErrExpired = errors.New("resource version expired")
	// ErrTooLargeRV: the requested revision is newer than etcd's.
	ErrTooLargeRV = errors.New("resource version too large")
	// ErrInvalidContinue: a continue token could not be decoded.
	ErrInvalidContinue = errors.New("invalid continue token")
)

// Error carries the key and, for expired lists, the newest revision so the
// caller can build upstream's 410 message.
type Error struct {
	Err     error
	Key     string
	Current int64
	Msg     string
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("%s: %v", e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(err error, key string) error { return &Error{Err: err, Key: key} }
