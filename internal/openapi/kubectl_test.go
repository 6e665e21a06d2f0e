package openapi

import (
	"encoding/json"
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

	"kplane/internal/kubectltest"
)

// fakeAPIServer serves the OpenAPI handlers plus just enough legacy discovery
// for kubectl to map pods, configmaps and deployments, and records the
// requests it sees.
type fakeAPIServer struct {
	mu       sync.Mutex
	requests []string // "METHOD path?query"
	patches  []string // "content-type body" of PATCH requests
}

// existingDeployment is what the fake server holds for apps/v1 deployment
// default/web: containers a:v1 (last applied by kubectl) and a sidecar
// added by someone else.
func existingDeployment() string {
	lastApplied := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"web","namespace":"default"},` +
		`"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"a:v1","name":"a"}]}}}}`
	obj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "default", "resourceVersion": "5",
			"annotations": map[string]any{"kubectl.kubernetes.io/last-applied-configuration": lastApplied + "\n"}},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec": map[string]any{"containers": []any{
					map[string]any{"name": "a", "image": "a:v1"},
					map[string]any{"name": "sidecar", "image": "s:v1"},
				}},
			},
		},
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err)
	}
	return string(b)
}

const updatedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: a
        image: a:v2
`

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
	deployment := existingDeployment()
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
		const deploy = "/apis/apps/v1/namespaces/default/deployments/web"
		switch {
		case r.Method == http.MethodGet && r.URL.Path == deploy:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, deployment)
		case r.Method == http.MethodPatch && r.URL.Path == deploy:
			body, _ := io.ReadAll(r.Body)
			f.mu.Lock()
			f.patches = append(f.patches, r.Header.Get("Content-Type")+" "+string(body))
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, deployment)
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
	kubectl, err := kubectltest.Path()
	if err != nil {
		t.Fatal(err)
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
	deployManifest := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(deployManifest, []byte(updatedDeployment), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, args ...string) string {
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
		{"client-side apply patches an existing object", []string{"apply", "-f", deployManifest},
			[]string{"deployment.apps/web configured"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, tc.args...)
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
	if !fake.saw("PATCH /apis/apps/v1/namespaces/default/deployments/web?fieldManager=kubectl-client-side-apply&fieldValidation=Strict") {
		t.Errorf("apply did not patch with server-side strict validation; requests: %v", fake.requests)
	}
	// The strategic merge patch merges containers by name (the sidecar the
	// user never applied survives) and names the new container order.
	if len(fake.patches) != 1 || !strings.HasPrefix(fake.patches[0], "application/strategic-merge-patch+json ") ||
		!strings.Contains(fake.patches[0], `"$setElementOrder/containers":[{"name":"a"}]`) ||
		!strings.Contains(fake.patches[0], `"containers":[{"image":"a:v2","name":"a"}]`) {
		t.Errorf("patches = %q, want a strategic merge patch of container a", fake.patches)
	}
	if fake.saw("GET /openapi/v2") {
		t.Errorf("kubectl fell back to client-side validation against /openapi/v2")
	}
}
