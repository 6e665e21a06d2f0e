package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// Media types of the OpenAPI documents. kubectl asks for the deprecated "@"
// spelling of the v2 protobuf type; the reply names the current one.
const (
	mimeJSON              = "application/json"
	mimeV2Proto           = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
	mimeV2ProtoDeprecated = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
)

// V2Path and V3Path are where the API server mounts the handlers; V3Handler
// also serves everything below V3Path.
const (
	V2Path = "/openapi/v2"
	V3Path = "/openapi/v3"
)

// noModTime makes http.ServeContent omit Last-Modified: documents never
// change during the life of a Spec, so clients revalidate by ETag alone.
var noModTime = time.Unix(0, 0)

func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// V2Handler serves /openapi/v2 as JSON, or as gnostic protobuf when the
// Accept header asks for it (kubectl does), with ETag revalidation.
func (s *Spec) V2Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Add("Vary", "Accept")
		switch negotiate(r.Header.Get("Accept"), mimeJSON, mimeV2Proto, mimeV2ProtoDeprecated) {
		case mimeJSON:
			serve(w, r, mimeJSON, s.v2)
		case mimeV2Proto, mimeV2ProtoDeprecated:
			doc, err := s.v2Protobuf()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			serve(w, r, mimeV2Proto, doc)
		default:
			w.WriteHeader(http.StatusNotAcceptable)
		}
	})
}

// v2Protobuf converts the JSON document to gnostic protobuf once.
func (s *Spec) v2Protobuf() (document, error) {
	s.v2ProtoOnce.Do(func() {
		doc, err := openapi_v2.ParseDocument(s.v2.body)
		if err != nil {
			s.v2ProtoErr = fmt.Errorf("openapi v2 to protobuf: %w", err)
			return
		}
		b, err := proto.Marshal(doc)
		if err != nil {
			s.v2ProtoErr = fmt.Errorf("openapi v2 to protobuf: %w", err)
			return
		}
		// Same ETag as JSON, as upstream: the Vary header keeps them apart.
		s.v2Proto = document{body: b, etag: s.v2.etag}
	})
	return s.v2Proto, s.v2ProtoErr
}

// V3Handler serves the /openapi/v3 discovery document and, below it, one
// JSON document per group-version. A request carrying the current ?hash= is
// marked immutable; a stale hash is redirected to the current one.
func (s *Spec) V3Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimSuffix(r.URL.Path, "/")
		if p == V3Path {
			serve(w, r, mimeJSON, s.v3Root)
			return
		}
		key, ok := strings.CutPrefix(p, V3Path+"/")
		doc := s.v3[key]
		if !ok || doc == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Add("Vary", "Accept")
		if negotiate(r.Header.Get("Accept"), mimeJSON) == "" {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		if hash := r.URL.Query().Get("hash"); hash != "" {
			if hash != doc.etag {
				http.Redirect(w, r, V3Path+"/"+key+"?hash="+doc.etag, http.StatusMovedPermanently)
				return
			}
			w.Header().Set("Cache-Control", "public, immutable")
			w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
		}
		serve(w, r, mimeJSON, *doc)
	})
}

// serve writes a cached document; http.ServeContent answers If-None-Match
// from the ETag header with 304.
func serve(w http.ResponseWriter, r *http.Request, contentType string, doc document) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Etag", strconv.Quote(doc.etag))
	http.ServeContent(w, r, "", noModTime, bytes.NewReader(doc.body))
}

// negotiate picks the first offered media type the Accept header allows,
// honouring q-values and wildcards; an empty header accepts anything. It
// returns "" when nothing offered is acceptable.
func negotiate(accept string, offers ...string) string {
	if strings.TrimSpace(accept) == "" {
		return offers[0]
	}
	type clause struct {
		typ, sub string
		q        float64
	}
	var clauses []clause
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		q := 1.0
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			if strings.TrimSpace(k) == "q" {
				if parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = parsed
				}
			}
		}
		if q > 0 {
			clauses = append(clauses, clause{typ, sub, q})
		}
	}
	sort.SliceStable(clauses, func(i, j int) bool { return clauses[i].q > clauses[j].q })
	for _, c := range clauses {
		for _, offer := range offers {
			typ, sub, _ := strings.Cut(offer, "/")
			if (c.typ == "*" || c.typ == typ) && (c.sub == "*" || c.sub == sub) {
				return offer
			}
		}
	}
	return ""
}
