package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ErrorToStatus is the one place where any error becomes a metav1.Status:
// API errors keep their code and reason, everything else is a 500.
func ErrorToStatus(err error) *metav1.Status {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		st := status.Status()
		st.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
		if st.Status == "" {
			st.Status = metav1.StatusFailure
		}
		return &st
	}
	if errors.Is(err, context.DeadlineExceeded) {
		st := apierrors.NewTimeoutError("request did not complete within the allowed duration", 0).ErrStatus
		st.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
		return &st
	}
	st := apierrors.NewInternalError(err).ErrStatus
	st.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
	return &st
}

// writeError answers with the Status of err in the client's format.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := ErrorToStatus(err)
	if st.Code == http.StatusInternalServerError {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	// As upstream, only a Status that names a delay gets Retry-After: the
	// in-flight limit's 429 says 1 s, a disruption budget's 429 says none
	// (kubectl drain then uses its own 5 s back-off).
	if st.Details != nil && st.Details.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
	}
	t, ok := s.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		t, _ = s.negotiate(mediaJSON, false)
	}
	s.writeObject(w, r, int(st.Code), t, st)
}

// writeObject encodes obj (whose TypeMeta the caller has set) as t.
func (s *Server) writeObject(w http.ResponseWriter, r *http.Request, code int, t target, obj runtime.Object) {
	w.Header().Set("Content-Type", t.info.MediaType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	buf := s.buffers.Get()
	defer s.buffers.Put(buf)
	if err := s.encode(t.info.Serializer, obj, buf); err != nil {
		st := apierrors.NewInternalError(fmt.Errorf("encode response: %w", err)).ErrStatus
		st.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
		w.Header().Set("Content-Type", mediaJSON)
		w.WriteHeader(http.StatusInternalServerError)
		_ = s.jsonSerializer.Encode(&st, w)
		return
	}
	if buf.Len() >= gzipThreshold && acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		w.WriteHeader(code)
		zw := s.gzipWriters.get(w)
		_, _ = zw.Write(buf.Bytes())
		_ = zw.Close()
		s.gzipWriters.put(zw)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// encode uses a pooled allocator for encoders that accept one (protobuf),
// so a large list does not allocate a response-sized scratch buffer per
// request, as upstream does.
func (s *Server) encode(enc runtime.Encoder, obj runtime.Object, w io.Writer) error {
	ea, ok := enc.(runtime.EncoderWithAllocator)
	if !ok {
		return enc.Encode(obj, w)
	}
	alloc, _ := s.allocators.Get().(*runtime.Allocator)
	if alloc == nil {
		alloc = &runtime.Allocator{}
	}
	defer s.allocators.Put(alloc)
	return ea.EncodeWithAllocator(obj, w, alloc)
}
