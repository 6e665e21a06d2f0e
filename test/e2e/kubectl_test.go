package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kubectlTimeout bounds one kubectl invocation.
const kubectlTimeout = 60 * time.Second

// pendingOverride is passed to every `kubectl run`: a node selector no node
// matches keeps the pod Pending and unbound even once kplane runs a
// scheduler, so the assertions on Pending pods hold in later versions too.
const pendingOverride = `--overrides={"apiVersion":"v1","spec":{"nodeSelector":{"e2e.kplane.dev/unschedulable":"true"}}}`

// kubectl runs the real kubectl binary against one server. Each instance has
// its own HOME so discovery caches and user config never leak between runs.
type kubectl struct {
	bin        string
	kubeconfig string
	home       string
}

func newKubectl(t *testing.T, s *server) *kubectl {
	t.Helper()
	return &kubectl{bin: requireKubectl(t), kubeconfig: s.kubeconfig, home: t.TempDir()}
}

// env is the environment kubectl runs with: the caller's, minus anything that
// could point it at another cluster, plus extra (e.g. KUBE_EDITOR=...).
func (k *kubectl) env(extra ...string) []string {
	env := envWithout(os.Environ(), "KUBECONFIG=")
	env = envWithout(env, "HOME=")
	env = envWithout(env, "KUBE_EDITOR=")
	env = envWithout(env, "EDITOR=")
	env = append(env, "KUBECONFIG="+k.kubeconfig, "HOME="+k.home)
	return append(env, extra...)
}

// command builds a kubectl command; callers that need a background process
// (get -w) use it directly.
func (k *kubectl) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.bin, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	cmd.Env = k.env()
	return cmd
}

// exec runs kubectl with the given environment additions and stdin and
// returns its stdout, stderr and error.
func (k *kubectl) exec(t *testing.T, extraEnv []string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := k.command(ctx, args...)
	cmd.Env = k.env(extraEnv...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// run runs kubectl and fails the test if it exits non-zero; it returns stdout.
func (k *kubectl) run(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.exec(t, nil, "", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// runEnv is run with extra environment variables.
func (k *kubectl) runEnv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.exec(t, env, "", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// stdin is run with the given standard input (for `-f -`).
func (k *kubectl) stdin(t *testing.T, in string, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.exec(t, nil, in, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
	}
	return stdout
}

// fail runs kubectl, fails the test if it succeeds and returns stderr.
func (k *kubectl) fail(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := k.exec(t, nil, "", args...)
	if err == nil {
		t.Fatalf("kubectl %s: succeeded, want failure\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stdout, stderr)
	}
	return stderr
}

// jsonpath returns `kubectl get <args> -o jsonpath=<expr>`.
func (k *kubectl) jsonpath(t *testing.T, expr string, args ...string) string {
	t.Helper()
	return k.run(t, append(append([]string{"get"}, args...), "-o", "jsonpath="+expr)...)
}

// tokenUser returns a kubectl that authenticates with a bearer token only:
// a new kubeconfig with the admin kubeconfig's server and CA but no client
// certificate (which would otherwise win over the token).
func (k *kubectl) tokenUser(t *testing.T, token string) *kubectl {
	t.Helper()
	server := k.run(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")
	ca := k.run(t, "config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if server == "" || ca == "" {
		t.Fatalf("admin kubeconfig lacks server (%q) or CA data", server)
	}
	kc := writeFile(t, "token.kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kplane
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: token-user
  user:
    token: %s
contexts:
- name: token-user
  context: {cluster: kplane, user: token-user}
current-context: token-user
`, server, ca, token))
	return &kubectl{bin: k.bin, kubeconfig: kc, home: t.TempDir()}
}

// namespace creates a fresh namespace with `kubectl create namespace` so that
// subtests sharing a server do not see each other's objects.
func (k *kubectl) namespace(t *testing.T, name string) string {
	t.Helper()
	out := k.run(t, "create", "namespace", name)
	if want := "namespace/" + name + " created"; strings.TrimSpace(out) != want {
		t.Fatalf("kubectl create namespace %s = %q, want %q", name, out, want)
	}
	return name
}

// writeFile writes content to a file in a per-test temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// header returns the first line of table output with runs of spaces folded to
// one, so it can be compared with upstream's column names.
func header(out string) string {
	first, _, _ := strings.Cut(out, "\n")
	return strings.Join(strings.Fields(first), " ")
}

// rows returns the table rows (header excluded) keyed by their first column
// (or the column at index key), each as whitespace-separated fields.
func rows(out string, key int) map[string][]string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	got := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > key {
			got[f[key]] = f
		}
	}
	return got
}

// lines splits output into trimmed, non-empty lines.
func lines(out string) []string {
	var res []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			res = append(res, l)
		}
	}
	return res
}

// mustContain fails the test unless out contains every want.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, out)
		}
	}
}
