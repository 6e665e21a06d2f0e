package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"kplane/internal/perftest/report"
)

// perftestTimeout bounds one `kplane test` run; the runs below take
// seconds to a minute on two shared cores.
const perftestTimeout = 8 * time.Minute

// TestPerftest runs `kplane test density` and `kplane test load` with 20
// hollow nodes started by the test command against `kplane up`, as a user
// would, and checks that both pass and write schema-valid reports; then
// `kplane report compare` accepts a run against itself and rejects one
// whose numbers got worse.
func TestPerftest(t *testing.T) {
	s := startServer(t, t.TempDir())
	dir := t.TempDir()
	pid := strconv.Itoa(s.cmd.Process.Pid)
	// The load run takes its workload from a spec file, with a steps
	// tuning set for the create phase.
	builtin, _, err := runKplane(t, time.Minute, "test", "load", "--print-spec")
	if err != nil || !strings.Contains(builtin, "podsPerNode: 30") {
		t.Fatalf("--print-spec: %v\n%s", err, builtin)
	}
	spec := filepath.Join(dir, "workload.yaml")
	if err := os.WriteFile(spec, []byte(`podsPerNode: 10
load:
  create: {type: steps, steps: [{qps: 20, duration: 2s}, {qps: 80, duration: 1m}]}
  scaleTuning: {qps: 50}
  update: {qps: 50}
  delete: {qps: 50}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name string
		args []string
	}{
		// Pods per node are lowered from 30 to keep CI short; the drivers
		// and measurements are the same.
		{"density", []string{"--pods-per-node", "10", "--latency-pods", "20"}},
		{"load", []string{"--spec", spec}},
	} {
		t.Run(test.name, func(t *testing.T) {
			out := filepath.Join(dir, test.name)
			args := append([]string{"test", test.name, "--kubeconfig", s.kubeconfig, "--create-nodes", "20",
				"--report-dir", out, "--pids", pid, "--sample-interval", "1s", "--progress", "log",
				"--timeout", perftestTimeout.String()}, test.args...)
			stdout, stderr, err := runKplane(t, perftestTimeout+2*time.Minute, args...)
			if err != nil {
				t.Fatalf("kplane %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout, stderr)
			}
			t.Logf("kplane test %s:\n%s", test.name, stdout)
			if !strings.Contains(stdout, "kplane test "+test.name+": PASS (20 nodes") {
				t.Errorf("summary does not say PASS with 20 nodes:\n%s", stdout)
			}
			res := validateResult(t, filepath.Join(out, "result.json"))
			if res.Verdict != report.VerdictPass || !res.Finished || res.Inputs.CreatedNodes != 20 {
				t.Errorf("verdict=%s finished=%v createdNodes=%d", res.Verdict, res.Finished, res.Inputs.CreatedNodes)
			}
			if !res.APILatency.ServerAvailable || len(res.APILatency.Server) == 0 {
				t.Errorf("no server-side API latency: %s", res.APILatency.ServerNote)
			}
			if !res.Resources.EtcdDBSizeAvailable || res.Resources.EtcdDBSizeBytes <= 0 {
				t.Errorf("etcd DB size not measured")
			}
			procs := map[string]bool{}
			for _, p := range res.Resources.Summary {
				procs[p.Process] = p.RSSMaxBytes > 0
			}
			if !procs["pid "+pid] || !procs["API server (process metrics)"] {
				t.Errorf("resource usage of the server missing: %+v", res.Resources.Summary)
			}
			if test.name == "load" && (len(res.Phases) != 4 || res.Phases[0].Tuning != "steps 20qps/2s,80qps/1m0s" || res.Inputs.PodsPerNode != 10) {
				t.Errorf("load did not follow the spec file: phases %+v, pods per node %d", res.Phases, res.Inputs.PodsPerNode)
			}
			csv, err := os.ReadFile(filepath.Join(out, "pods.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if rows := strings.Count(string(csv), "\n") - 1; rows < 200 {
				t.Errorf("pods.csv has %d pods, want >= 200", rows)
			}
			html, err := os.ReadFile(filepath.Join(out, "report.html"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(html), "<svg"); n != 5 {
				t.Errorf("report.html has %d charts, want 5", n)
			}
		})
	}

	// A run compared with itself is no regression; the same run with a
	// slower pod startup is, and the command says so with exit code 1.
	a := filepath.Join(dir, "density", "result.json")
	if stdout, stderr, err := runKplane(t, time.Minute, "report", "compare", a, a); err != nil {
		t.Fatalf("compare with itself: %v\n%s%s", err, stdout, stderr)
	}
	res := validateResult(t, a)
	for i := range res.PodStartup {
		q := res.PodStartup[i].Stages[report.StageEndToEnd]
		q.P99 = q.P99*3 + 1
		res.PodStartup[i].Stages[report.StageEndToEnd] = q
	}
	b := filepath.Join(dir, "slower.json")
	if err := res.WriteFile(b); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runKplane(t, time.Minute, "report", "compare", a, b)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stdout, "REGRESSION") {
		t.Errorf("compare with a slower run: err=%v\n%s", err, stdout)
	}
}

// runKplane runs the binary with args and returns its output.
func runKplane(t *testing.T, timeout time.Duration, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(kplaneBin, args...)
	cmd.Env = envWithout(os.Environ(), "KPLANE_")
	killWithParent(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return stdout.String(), stderr.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("kplane %s did not finish in %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, stdout.String(), stderr.String())
		return "", "", nil
	}
}

// validateResult checks a result.json against the published JSON Schema
// and decodes it.
func validateResult(t *testing.T, path string) *report.Result {
	t.Helper()
	var schema any
	if err := json.Unmarshal(report.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("result.schema.json", schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("result.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("%s does not match the result schema: %v", path, err)
	}
	res, err := report.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
