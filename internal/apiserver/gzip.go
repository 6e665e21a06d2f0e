package apiserver

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"
)

// gzipThreshold is upstream's: responses of at least 128 KiB are
// compressed when the client accepts gzip (large lists mostly).
const gzipThreshold = 128 * 1024

func acceptsGzip(r *http.Request) bool {
	if r == nil {
		return false
	}
	for _, enc := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(enc, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

// gzipPool reuses writers; level 1 (BestSpeed), as upstream, because
// the API server's CPU is the scarce resource.
type gzipPool struct{ p sync.Pool }

func (g *gzipPool) get(w io.Writer) *gzip.Writer {
	if v := g.p.Get(); v != nil {
		zw := v.(*gzip.Writer)
		zw.Reset(w)
		return zw
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return zw
}

func (g *gzipPool) put(zw *gzip.Writer) { g.p.Put(zw) }
