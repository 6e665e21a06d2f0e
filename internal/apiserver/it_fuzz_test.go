package apiserver_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"kplane/internal/controlplane"
)

// Seeds for both fuzz targets live in testdata/fuzz/<Target>/ (valid and
// malformed examples); plain `go test` runs only those. Fuzz with
//
//	go test -run='^$' -fuzz=FuzzDecodeBody -fuzztime=60s ./internal/apiserver/
//	go test -run='^$' -fuzz=FuzzPatch -fuzztime=60s ./internal/apiserver/

// fuzzMaxBody keeps single inputs cheap; size limits have their own test.
const fuzzMaxBody = 64 << 10

// fuzzServer is a real control plane whose handler the fuzzers call in
// process (no TLS), authenticated with the server's loopback token.
type fuzzServer struct {
	handler http.Handler
	token   string
}

func newFuzzServer(f *testing.F) *fuzzServer {
	cp := startControlPlane(f, controlplane.Config{})
	return &fuzzServer{handler: cp.Server.Handler(), token: cp.Server.LoopbackToken()}
}

func (s *fuzzServer) do(method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	return rec
}

var fuzzContentTypes = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}

var fuzzCollections = []string{"/api/v1/namespaces/default/configmaps", "/apis/apps/v1/namespaces/default/deployments"}

// FuzzDecodeBody posts arbitrary bodies in each content type to a core
// and an apps collection: the answer is a created object or a client
// error, never a 500 (a panic is recovered into a 500, so it fails too).
func FuzzDecodeBody(f *testing.F) {
	srv := newFuzzServer(f)
	allowed := map[int]bool{201: true, 400: true, 409: true, 413: true, 415: true, 422: true}
	f.Fuzz(func(t *testing.T, collection, contentType uint8, body []byte) {
		if len(body) > fuzzMaxBody {
			t.Skip("body too large for fuzzing")
		}
		path := fuzzCollections[int(collection)%len(fuzzCollections)]
		ct := fuzzContentTypes[int(contentType)%len(fuzzContentTypes)]
		rec := srv.do(http.MethodPost, path, ct, body)
		if !allowed[rec.Code] {
			t.Fatalf("POST %s as %s: HTTP %d %s", path, ct, rec.Code, rec.Body.Bytes())
		}
	})
}

// fuzzPatchTypes are the patch content types; apply (server-side apply)
// is included as it decodes a YAML or JSON body.
var fuzzPatchTypes = []string{
	"application/merge-patch+json",
	"application/json-patch+json",
	"application/strategic-merge-patch+json",
	"application/apply-patch+yaml",
}

// FuzzPatch applies arbitrary patches of each type to an existing
// ConfigMap and Deployment: never a 500, and whenever the patch is
// rejected the stored object is byte-for-byte unchanged.
func FuzzPatch(f *testing.F) {
	srv := newFuzzServer(f)
	for _, fx := range []struct{ path, body string }{
		{fuzzCollections[0], `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"target","labels":{"a":"b"}},"data":{"k":"v","list":"1,2"}}`},
		{fuzzCollections[1], `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dep"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},` +
			`"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}],"env":[{"name":"A","value":"1"}]}]}}}}`},
	} {
		if rec := srv.do(http.MethodPost, fx.path, "application/json", []byte(fx.body)); rec.Code != http.StatusCreated {
			f.Fatalf("create fixture at %s: %d %s", fx.path, rec.Code, rec.Body.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, target, patchType uint8, patch []byte) {
		if len(patch) > fuzzMaxBody {
			t.Skip("patch too large for fuzzing")
		}
		path := fuzzCollections[int(target)%len(fuzzCollections)]
		if int(target)%len(fuzzCollections) == 0 {
			path += "/target"
		} else {
			path += "/dep"
		}
		pt := fuzzPatchTypes[int(patchType)%len(fuzzPatchTypes)]
		query := ""
		if pt == "application/apply-patch+yaml" {
			query = "?fieldManager=fuzz"
		}
		before := srv.do(http.MethodGet, path, "", nil)
		if before.Code != http.StatusOK {
			t.Fatalf("GET %s before: %d %s", path, before.Code, before.Body.Bytes())
		}
		rec := srv.do(http.MethodPatch, path+query, pt, patch)
		switch {
		case rec.Code == http.StatusOK || rec.Code == http.StatusCreated:
			return
		case rec.Code >= 500 || rec.Code < 400:
			t.Fatalf("PATCH %s as %s: HTTP %d %s", path, pt, rec.Code, rec.Body.Bytes())
		}
		after := srv.do(http.MethodGet, path, "", nil)
		if !bytes.Equal(before.Body.Bytes(), after.Body.Bytes()) {
			t.Fatalf("rejected PATCH (%d %s) changed %s:\nbefore %s\nafter  %s", rec.Code, rec.Body.Bytes(), path, before.Body.Bytes(), after.Body.Bytes())
		}
	})
}
