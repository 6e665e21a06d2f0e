package openapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPIServer serves the OpenAPI handlers plus just enough legacy discovery
// for kubectl to map pods, configmaps and deployments, and records the
// requests it sees.
type fakeAPIServer struct {
	mu       sync.Mutex
	requests []string // "METHOD path?query"
}

func (f *fakeAPIServer) saw(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

func (f *fakeAPIServer) handler(s *Spec) http.Handler {
	static := map[string]string{
		"/api":  `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`,
		"/apis": `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}}]}`,
		"/api/v1": `{"kind":"APIResourceList","groupVersion":"v1","resources":[
			{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["po"]},
			{"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["cm"]}]}`,
		"/apis/apps/v1": `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"apps/v1","resources":[
			{"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["create","delete","deletecollection","get","list","patch","update","watch"],"shortNames":["deploy"]}]}`,
		"/version": `{"major":"1","minor":"37","gitVersion":"v1.37.2","platform":"linux/amd64"}`,
	}
	mux := http.NewServeMux()
	mux.Handle(V2Path, s.V2Handler())
	mux.Handle(V3Path, s.V3Handler())
	mux.Handle(V3Path+"/", s.V3Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if body, ok := static[r.URL.Path]; ok && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, body)
			return
		}
		const cms = "/api/v1/namespaces/default/configmaps"
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, cms+"/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			name := strings.TrimPrefix(r.URL.Path, cms+"/")
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"configmaps %q not found","reason":"NotFound","details":{"name":%q,"kind":"configmaps"},"code":404}`, name, name)
		case r.Method == http.MethodPost && r.URL.Path == cms:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.Copy(w, r.Body)
		default:
			http.NotFound(w, r)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

// TestKubectl drives the real kubectl binary against the documents.
func TestKubectl(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH")
	}
	fake := &fakeAPIServer{}
	srv := httptest.NewServer(fake.handler(testSpec(t)))
	defer srv.Close()

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: kplane, cluster: {server: %q}}]
users: [{name: u, user: {}}]
contexts: [{name: c, context: {cluster: kplane, user: u, namespace: default}}]
current-context: c
`, srv.URL)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "cm.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(dir, "cache"), "--request-timeout", "20s"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("kubectl %v timed out", args)
		}
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"explain containers", []string{"explain", "pods.spec.containers"},
			[]string{"KIND:       Pod", "FIELD: containers <[]Container>", "List of containers belonging to the pod", "image\t<string>"}},
		{"explain deployment strategy", []string{"explain", "deployment.spec.strategy"},
			[]string{"GROUP:      apps", "The deployment strategy to use to replace existing pods with new ones.", "rollingUpdate\t<RollingUpdateDeployment>"}},
		{"explain int-or-string", []string{"explain", "deployment.spec.strategy.rollingUpdate.maxSurge"},
			[]string{"maxSurge <IntOrString>", "The maximum number of pods that can be scheduled above the desired number"}},
		{"apply uses server-side validation", []string{"apply", "-f", manifest},
			[]string{"configmap/settings created"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := run(tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	if !fake.saw("POST /api/v1/namespaces/default/configmaps?fieldManager=kubectl-client-side-apply&fieldValidation=Strict") {
		t.Errorf("apply did not ask for server-side strict validation; requests: %v", fake.requests)
	}
	if fake.saw("GET /openapi/v2") {
		t.Errorf("kubectl fell back to client-side validation against /openapi/v2")
	}
}
