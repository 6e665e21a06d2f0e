package apiserver_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"kplane/internal/controlplane"
)

// TestBadInput sends malformed, invalid and unauthorised requests and
// checks each gets upstream's status code and reason, that the stored
// ConfigMap and Deployment are untouched, and that the server still serves.
func TestBadInput(t *testing.T) {
	cp := startControlPlane(t, controlplane.Config{})
	cs, _ := adminClientset(t, cp)
	ctx := context.Background()
	const ns = "bad"
	createNamespace(t, cs, ns)
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"k": "v0"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create cm: %v", err)
	}
	staleRV := cm.ResourceVersion
	cm.Data["k"] = "v1"
	if _, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update cm: %v", err)
	}
	replicas := int32(1)
	labels := map[string]string{"app": "web"}
	_, err = cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "dep"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	before := snapshot(t, cs, ns)

	base := cp.URL()
	cms := base + "/api/v1/namespaces/" + ns + "/configmaps"
	deps := base + "/apis/apps/v1/namespaces/" + ns + "/deployments"
	admin := httpClient(cp, adminCert(t, cp))
	anonymous := httpClient(cp)
	nobody := httpClient(cp, userCert(t, cp, "nobody", nil))
	jsonCT := map[string]string{"Content-Type": "application/json"}
	cmJSON := func(meta string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":` + meta + `,"data":{"k":"x"}}`)
	}

	for _, tc := range []struct {
		name    string
		client  *http.Client
		method  string
		url     string
		body    []byte
		header  map[string]string
		code    int
		reason  metav1.StatusReason
		message string // substring of the Status message, when set
		cause   string // a Status cause's field, when set
	}{
		{name: "malformed JSON", method: http.MethodPost, url: cms, body: []byte(`{"apiVersion":"v1","kind":"ConfigMap",`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "malformed YAML", method: http.MethodPost, url: cms, body: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: [name: x\n"),
			header: map[string]string{"Content-Type": "application/yaml"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "malformed protobuf", method: http.MethodPost, url: cms, body: []byte("k8s\x00\x0a\xff\xff\xff\x01garbage"),
			header: map[string]string{"Content-Type": "application/vnd.kubernetes.protobuf"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "protobuf without envelope", method: http.MethodPost, url: cms, body: []byte("\x0a\x03abc"),
			header: map[string]string{"Content-Type": "application/vnd.kubernetes.protobuf"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "wrong apiVersion", method: http.MethodPost, url: cms, body: []byte(`{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest, message: "does not match the expected API version"},
		{name: "wrong kind", method: http.MethodPost, url: cms, body: []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "invalid name", method: http.MethodPost, url: cms, body: cmJSON(`{"name":"Bad_Name"}`), header: jsonCT,
			code: 422, reason: metav1.StatusReasonInvalid, cause: "metadata.name"},
		{name: "missing name", method: http.MethodPost, url: cms, body: cmJSON(`{}`), header: jsonCT,
			code: 422, reason: metav1.StatusReasonInvalid, message: "name or generateName is required", cause: "metadata.name"},
		{name: "invalid deployment", method: http.MethodPut, url: deps + "/dep", header: jsonCT,
			body: []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dep"},"spec":{"replicas":-1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`),
			code: 422, reason: metav1.StatusReasonInvalid, cause: "spec.replicas"},
		{name: "body over 3 MiB", method: http.MethodPost, url: cms, header: jsonCT,
			body: cmJSON(`{"name":"big","annotations":{"pad":"` + strings.Repeat("x", 3<<20+10) + `"}}`),
			code: 413, reason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "unknown resource", method: http.MethodGet, url: base + "/api/v1/namespaces/" + ns + "/widgets",
			code: 404, reason: metav1.StatusReasonNotFound},
		{name: "unknown group", method: http.MethodGet, url: base + "/apis/example.com/v1/namespaces/" + ns + "/widgets",
			code: 404, reason: metav1.StatusReasonNotFound},
		{name: "PUT on a collection", method: http.MethodPut, url: cms, body: cmJSON(`{"name":"cm"}`), header: jsonCT,
			code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "PATCH on a collection", method: http.MethodPatch, url: cms, body: []byte(`{}`), header: map[string]string{"Content-Type": "application/merge-patch+json"},
			code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "POST to a named object", method: http.MethodPost, url: cms + "/cm", body: cmJSON(`{"name":"cm"}`), header: jsonCT,
			code: 405, reason: metav1.StatusReasonMethodNotAllowed},
		{name: "text/plain body", method: http.MethodPost, url: cms, body: cmJSON(`{"name":"x"}`), header: map[string]string{"Content-Type": "text/plain"},
			code: 415, reason: metav1.StatusReasonUnsupportedMediaType},
		{name: "text/plain patch", method: http.MethodPatch, url: cms + "/cm", body: []byte(`{"data":{"k":"p"}}`), header: map[string]string{"Content-Type": "text/plain"},
			code: 415, reason: metav1.StatusReasonUnsupportedMediaType},
		{name: "stale update", method: http.MethodPut, url: cms + "/cm", body: cmJSON(`{"name":"cm","resourceVersion":"` + staleRV + `"}`), header: jsonCT,
			code: 409, reason: metav1.StatusReasonConflict, message: "the object has been modified"},
		{name: "create existing", method: http.MethodPost, url: cms, body: cmJSON(`{"name":"cm"}`), header: jsonCT,
			code: 409, reason: metav1.StatusReasonAlreadyExists, message: `configmaps "cm" already exists`},
		{name: "create existing deployment", method: http.MethodPost, url: deps, header: jsonCT,
			body: []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dep"},"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`),
			code: 409, reason: metav1.StatusReasonAlreadyExists},
		{name: "unauthenticated", client: anonymous, method: http.MethodGet, url: cms,
			code: 401, reason: metav1.StatusReasonUnauthorized},
		{name: "unauthenticated write", client: anonymous, method: http.MethodDelete, url: cms + "/cm",
			code: 401, reason: metav1.StatusReasonUnauthorized},
		{name: "bad bearer token", method: http.MethodGet, url: cms, header: map[string]string{"Authorization": "Bearer nope"}, client: anonymous,
			code: 401, reason: metav1.StatusReasonUnauthorized},
		{name: "forbidden", client: nobody, method: http.MethodDelete, url: cms + "/cm",
			code: 403, reason: metav1.StatusReasonForbidden, message: `User "nobody" cannot delete resource "configmaps"`},
		{name: "bad label selector", method: http.MethodGet, url: cms + "?labelSelector=a%20in%20(b",
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad field selector", method: http.MethodGet, url: cms + "?fieldSelector=metadata.name%3D%3D%3Dx",
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad merge patch", method: http.MethodPatch, url: cms + "/cm", body: []byte(`{"data":`),
			header: map[string]string{"Content-Type": "application/merge-patch+json"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad JSON patch", method: http.MethodPatch, url: cms + "/cm", body: []byte(`{"op":"add"}`),
			header: map[string]string{"Content-Type": "application/json-patch+json"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad strategic patch", method: http.MethodPatch, url: deps + "/dep", body: []byte(`[1,2]`),
			header: map[string]string{"Content-Type": "application/strategic-merge-patch+json"}, code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "patch to an invalid object", method: http.MethodPatch, url: deps + "/dep", body: []byte(`{"spec":{"replicas":-3}}`),
			header: map[string]string{"Content-Type": "application/strategic-merge-patch+json"}, code: 422, reason: metav1.StatusReasonInvalid, cause: "spec.replicas"},
		{name: "JSON patch test fails", method: http.MethodPatch, url: cms + "/cm", body: []byte(`[{"op":"test","path":"/data/k","value":"nope"},{"op":"replace","path":"/data/k","value":"p"}]`),
			header: map[string]string{"Content-Type": "application/json-patch+json"}, code: 422, reason: metav1.StatusReasonInvalid},
		{name: "unknown field strict", method: http.MethodPost, url: cms + "?fieldValidation=Strict", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict"},"bogus":1}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest, message: `unknown field "bogus"`},
		{name: "unknown field strict update", method: http.MethodPut, url: cms + "/cm?fieldValidation=Strict", body: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"k":"s"},"bogus":1}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest, message: `unknown field "bogus"`},
		{name: "bad fieldValidation", method: http.MethodPost, url: cms + "?fieldValidation=Maybe", body: cmJSON(`{"name":"fv"}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "not acceptable", method: http.MethodGet, url: cms + "/cm", header: map[string]string{"Accept": "text/html"},
			code: 406, reason: metav1.StatusReasonNotAcceptable},
		{name: "name mismatch on update", method: http.MethodPut, url: cms + "/cm", body: cmJSON(`{"name":"other"}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "namespace mismatch", method: http.MethodPost, url: cms, body: cmJSON(`{"name":"x","namespace":"elsewhere"}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad dryRun", method: http.MethodPost, url: cms + "?dryRun=Some", body: cmJSON(`{"name":"dr"}`), header: jsonCT,
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad resourceVersion", method: http.MethodGet, url: cms + "?resourceVersion=abc",
			code: 400, reason: metav1.StatusReasonBadRequest},
		{name: "bad continue", method: http.MethodGet, url: cms + "?limit=1&continue=abc",
			code: 400, reason: metav1.StatusReasonBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client
			if c == nil {
				c = admin
			}
			resp := do(t, c, tc.method, tc.url, tc.body, tc.header)
			st := resp.status()
			if resp.code != tc.code || st.Reason != tc.reason || st.Code != int32(tc.code) || st.Kind != "Status" {
				t.Fatalf("got HTTP %d, Status %s %d %s %q; want %d %s", resp.code, st.Kind, st.Code, st.Reason, st.Message, tc.code, tc.reason)
			}
			if !strings.Contains(st.Message, tc.message) {
				t.Errorf("message %q does not contain %q", st.Message, tc.message)
			}
			if tc.cause != "" && !hasCause(st, tc.cause) {
				t.Errorf("causes %+v have no field %q", st.Details, tc.cause)
			}
			if after := snapshot(t, cs, ns); after != before {
				t.Fatalf("stored objects changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	// Still serving after all of that.
	if resp := do(t, admin, http.MethodGet, base+"/readyz", nil, nil); resp.code != http.StatusOK {
		t.Fatalf("readyz after bad input: %d %s", resp.code, resp.body)
	}
	list, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list after bad input: %v", err)
	}
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if strings.Join(names, ",") != "cm" {
		t.Fatalf("configmaps after bad input = %q, want only cm (no rejected object was stored)", names)
	}
}

func hasCause(st metav1.Status, field string) bool {
	if st.Details == nil {
		return false
	}
	for _, c := range st.Details.Causes {
		if c.Field == field {
			return true
		}
	}
	return false
}

// snapshot is the resourceVersion and content of the fixture objects.
func snapshot(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	ctx := context.Background()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "cm", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get cm: %v", err)
	}
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, "dep", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment: %v", err)
	}
	return "cm@" + cm.ResourceVersion + " " + cm.Data["k"] + " dep@" + dep.ResourceVersion + " replicas=" + itoa32(dep.Spec.Replicas)
}

func itoa32(p *int32) string {
	if p == nil {
		return "nil"
	}
	return strconv.Itoa(int(*p))
}
