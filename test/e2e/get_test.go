package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// testGet covers `kubectl get` output formats and selectors on pods.
func testGet(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-get")
	k.run(t, "-n", ns, "run", pendingOverride, "web-1", "--image=nginx:1.27", "--labels=app=web,tier=front")
	k.run(t, "-n", ns, "run", pendingOverride, "web-2", "--image=nginx:1.27", "--labels=app=web,tier=back")
	k.run(t, "-n", ns, "run", pendingOverride, "db-1", "--image=postgres:17", "--labels=app=db,tier=back")

	t.Run("table", func(t *testing.T) {
		out := k.run(t, "-n", ns, "get", "pods")
		if got, want := header(out), "NAME READY STATUS RESTARTS AGE"; got != want {
			t.Errorf("header = %q, want %q", got, want)
		}
		r := rows(out, 0)
		if len(r) != 3 {
			t.Errorf("got %d rows, want 3:\n%s", len(r), out)
		}
		if f := r["web-1"]; len(f) != 5 || f[1] != "0/1" || f[2] != "Pending" || f[3] != "0" {
			t.Errorf("row web-1 = %q, want [web-1 0/1 Pending 0 <age>]", f)
		}
	})

	t.Run("wide", func(t *testing.T) {
		out := k.run(t, "-n", ns, "get", "pods", "-o", "wide")
		if got, want := header(out), "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES"; got != want {
			t.Errorf("header = %q, want %q", got, want)
		}
		if f := rows(out, 0)["db-1"]; len(f) != 9 || f[5] != "<none>" || f[6] != "<none>" {
			t.Errorf("row db-1 = %q, want IP and NODE <none>", f)
		}
	})

	t.Run("yaml", func(t *testing.T) {
		out := k.run(t, "-n", ns, "get", "pods", "-o", "yaml")
		var list struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
			Items []corev1.Pod `json:"items"`
		}
		if err := yaml.UnmarshalStrict([]byte(out), &list); err != nil {
			t.Fatalf("parse -o yaml: %v\n%s", err, out)
		}
		if list.Kind != "List" || list.APIVersion != "v1" {
			t.Errorf("kind/apiVersion = %s/%s, want List/v1", list.Kind, list.APIVersion)
		}
		var names []string
		for _, p := range list.Items {
			names = append(names, p.Name)
			if p.Kind != "Pod" || p.APIVersion != "v1" {
				t.Errorf("item %s kind/apiVersion = %s/%s, want Pod/v1", p.Name, p.Kind, p.APIVersion)
			}
			if p.ResourceVersion == "" || p.UID == "" || p.CreationTimestamp.IsZero() {
				t.Errorf("item %s lacks resourceVersion/uid/creationTimestamp: %+v", p.Name, p.ObjectMeta)
			}
		}
		slices.Sort(names)
		if want := []string{"db-1", "web-1", "web-2"}; !slices.Equal(names, want) {
			t.Errorf("items = %v, want %v", names, want)
		}
	})

	t.Run("json", func(t *testing.T) {
		out := k.run(t, "-n", ns, "get", "pod", "web-2", "-o", "json")
		var pod corev1.Pod
		if err := json.Unmarshal([]byte(out), &pod); err != nil {
			t.Fatalf("parse -o json: %v\n%s", err, out)
		}
		if pod.Name != "web-2" || pod.Namespace != ns || pod.Labels["tier"] != "back" {
			t.Errorf("pod = %s/%s labels %v, want %s/web-2 tier=back", pod.Namespace, pod.Name, pod.Labels, ns)
		}
		if len(pod.Spec.Containers) != 1 || pod.Spec.Containers[0].Image != "nginx:1.27" {
			t.Errorf("containers = %+v, want one nginx:1.27", pod.Spec.Containers)
		}
		if pod.Status.Phase != corev1.PodPending {
			t.Errorf("phase = %q, want Pending", pod.Status.Phase)
		}
	})

	t.Run("name", func(t *testing.T) {
		got := lines(k.run(t, "-n", ns, "get", "pods", "-o", "name"))
		if want := []string{"pod/db-1", "pod/web-1", "pod/web-2"}; !slices.Equal(got, want) {
			t.Errorf("-o name = %q, want %q", got, want)
		}
	})

	t.Run("jsonpath", func(t *testing.T) {
		got := k.jsonpath(t, "{.items[*].metadata.name}", "-n", ns, "pods")
		if want := "db-1 web-1 web-2"; got != want {
			t.Errorf("jsonpath names = %q, want %q", got, want)
		}
		got = k.jsonpath(t, `{range .items[*]}{.metadata.name}={.spec.containers[0].image}{"\n"}{end}`, "-n", ns, "pods")
		if want := "db-1=postgres:17\nweb-1=nginx:1.27\nweb-2=nginx:1.27\n"; got != want {
			t.Errorf("jsonpath range = %q, want %q", got, want)
		}
	})

	t.Run("label-selector", func(t *testing.T) {
		for _, tc := range []struct {
			selector string
			want     []string
		}{
			{"app=web", []string{"pod/web-1", "pod/web-2"}},
			{"tier=back", []string{"pod/db-1", "pod/web-2"}},
			{"app=web,tier=back", []string{"pod/web-2"}},
			{"tier in (front)", []string{"pod/web-1"}},
			{"app!=web", []string{"pod/db-1"}},
			{"!tier", nil},
		} {
			got := lines(k.run(t, "-n", ns, "get", "pods", "-l", tc.selector, "-o", "name"))
			if !slices.Equal(got, tc.want) {
				t.Errorf("-l %q = %q, want %q", tc.selector, got, tc.want)
			}
		}
	})

	t.Run("field-selector", func(t *testing.T) {
		for _, tc := range []struct {
			selector string
			want     []string
		}{
			{"metadata.name=web-2", []string{"pod/web-2"}},
			{"metadata.name!=web-2", []string{"pod/db-1", "pod/web-1"}},
			{"status.phase=Pending", []string{"pod/db-1", "pod/web-1", "pod/web-2"}},
			{"status.phase=Running", nil},
			{"spec.nodeName=", []string{"pod/db-1", "pod/web-1", "pod/web-2"}},
		} {
			got := lines(k.run(t, "-n", ns, "get", "pods", "--field-selector", tc.selector, "-o", "name"))
			if !slices.Equal(got, tc.want) {
				t.Errorf("--field-selector %q = %q, want %q", tc.selector, got, tc.want)
			}
		}
		stderr := k.fail(t, "-n", ns, "get", "pods", "--field-selector", "spec.bogus=x")
		mustContain(t, "unsupported field selector", stderr, `field label not supported: spec.bogus`)
	})

	t.Run("all-namespaces", func(t *testing.T) {
		out := k.run(t, "get", "pods", "-A", "-l", "app=web")
		if got, want := header(out), "NAMESPACE NAME READY STATUS RESTARTS AGE"; got != want {
			t.Errorf("header = %q, want %q", got, want)
		}
		r := rows(out, 1)
		for _, name := range []string{"web-1", "web-2"} {
			if f := r[name]; len(f) == 0 || f[0] != ns {
				t.Errorf("row %s = %q, want namespace %s", name, f, ns)
			}
		}
		out = k.run(t, "get", "namespaces", "-A", "-o", "name")
		mustContain(t, "get namespaces -A", out, "namespace/default", "namespace/kube-system", "namespace/"+ns)
	})

	t.Run("client-side-printing", func(t *testing.T) {
		out := k.run(t, "-n", ns, "get", "pods", "--show-labels")
		if got, want := header(out), "NAME READY STATUS RESTARTS AGE LABELS"; got != want {
			t.Errorf("--show-labels header = %q, want %q", got, want)
		}
		if f := rows(out, 0)["web-1"]; len(f) != 6 || f[5] != "app=web,tier=front" {
			t.Errorf("--show-labels row web-1 = %q", f)
		}
		out = k.run(t, "-n", ns, "get", "pods", "-o", "custom-columns=POD:.metadata.name,IMAGE:.spec.containers[0].image,TIER:.metadata.labels.tier")
		if want := []string{"POD IMAGE TIER", "db-1 postgres:17 back", "web-1 nginx:1.27 front", "web-2 nginx:1.27 back"}; !slices.Equal(foldLines(out), want) {
			t.Errorf("custom-columns = %q, want %q", foldLines(out), want)
		}
		got := lines(k.run(t, "-n", ns, "get", "pods", "--sort-by=.spec.containers[0].image", "-o", "name"))
		if len(got) != 3 || got[2] != "pod/db-1" {
			t.Errorf("--sort-by image = %q, want pod/db-1 last", got)
		}
		// --chunk-size=1 makes kubectl page with limit/continue.
		got = lines(k.run(t, "-n", ns, "get", "pods", "--chunk-size=1", "-o", "name"))
		if want := []string{"pod/db-1", "pod/web-1", "pod/web-2"}; !slices.Equal(got, want) {
			t.Errorf("--chunk-size=1 = %q, want %q", got, want)
		}
	})

	t.Run("all", func(t *testing.T) {
		k.run(t, "-n", ns, "create", "service", "clusterip", "site", "--tcp=80:80")
		k.run(t, "-n", ns, "create", "deployment", "site", "--image=nginx:1.27")
		got := lines(k.run(t, "-n", ns, "get", "all", "-o", "name"))
		for _, want := range []string{"pod/web-1", "pod/db-1", "service/site", "deployment.apps/site"} {
			if !slices.Contains(got, want) {
				t.Errorf("get all = %q, missing %q", got, want)
			}
		}
	})

	t.Run("not-found", func(t *testing.T) {
		stderr := k.fail(t, "-n", ns, "get", "pod", "nope")
		mustContain(t, "get missing pod", stderr, `Error from server (NotFound): pods "nope" not found`)
		_, errOut, err := k.exec(t, nil, "", "-n", ns, "get", "ingresses")
		if err != nil || !strings.Contains(errOut, "No resources found in "+ns+" namespace.") {
			t.Errorf("get ingresses in a namespace without any: err=%v stderr=%q", err, errOut)
		}
	})
}

// foldLines returns the non-empty lines of out with runs of spaces folded.
func foldLines(out string) []string {
	var res []string
	for _, l := range lines(out) {
		res = append(res, strings.Join(strings.Fields(l), " "))
	}
	return res
}

// testWatch runs `kubectl get pods -w` in the background and checks that
// creations, updates and deletions arrive as new table lines, both plain and
// with --output-watch-events.
func testWatch(t *testing.T, k *kubectl) {
	ns := k.namespace(t, "e2e-watch")
	k.run(t, "-n", ns, "run", pendingOverride, "first", "--image=nginx")

	plain := startWatch(t, k, "-n", ns, "get", "pods", "-w")
	events := startWatch(t, k, "-n", ns, "get", "pods", "-w", "--output-watch-events")
	row := func(name, status string) func([]string) bool {
		return func(f []string) bool { return len(f) == 5 && f[0] == name && f[2] == status }
	}
	event := func(typ, name, status string) func([]string) bool {
		return func(f []string) bool { return len(f) == 6 && f[0] == typ && f[1] == name && f[3] == status }
	}

	plain("header", func(f []string) bool { return strings.Join(f, " ") == "NAME READY STATUS RESTARTS AGE" })
	plain("initial pod", row("first", "Pending"))
	events("header", func(f []string) bool { return strings.Join(f, " ") == "EVENT NAME READY STATUS RESTARTS AGE" })
	events("initial pod", event("ADDED", "first", "Pending"))

	k.run(t, "-n", ns, "run", pendingOverride, "second", "--image=nginx")
	plain("created pod", row("second", "Pending"))
	events("created pod", event("ADDED", "second", "Pending"))

	k.run(t, "-n", ns, "label", "pod", "first", "seen=yes")
	plain("updated pod", row("first", "Pending"))
	events("updated pod", event("MODIFIED", "first", "Pending"))

	// A bound pod being deleted gracefully shows up as Terminating, then
	// disappears when force-deleted.
	k.stdin(t, boundPod(ns, "third"), "create", "-f", "-")
	plain("bound pod", row("third", "Pending"))
	events("bound pod", event("ADDED", "third", "Pending"))
	k.run(t, "-n", ns, "delete", "pod", "third", "--wait=false")
	plain("terminating pod", row("third", "Terminating"))
	events("terminating pod", event("MODIFIED", "third", "Terminating"))
	k.run(t, "-n", ns, "delete", "pod", "third", "--grace-period=0", "--force")
	events("deleted pod", event("DELETED", "third", "Terminating"))
}

// startWatch starts a background kubectl (get -w) and returns a function that
// waits for the next output line matching match, failing the test after 60s.
// The process is killed when the test ends.
func startWatch(t *testing.T, k *kubectl, args ...string) func(what string, match func([]string) bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := k.command(ctx, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start kubectl %s: %v", strings.Join(args, " "), err)
	}
	got := make(chan string, 100)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			got <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cancel()
		for range got { // drain so the reader goroutine ends before Wait
		}
		_ = cmd.Wait()
	})
	return func(what string, match func([]string) bool) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case l, ok := <-got:
				if !ok {
					t.Fatalf("kubectl %s exited before %s", strings.Join(args, " "), what)
				}
				if match(strings.Fields(l)) {
					return
				}
			case <-deadline:
				t.Fatalf("kubectl %s: no line for %s within 60s", strings.Join(args, " "), what)
			}
		}
	}
}
