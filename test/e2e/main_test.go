package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kplane/internal/kubectltest"
)

// kplaneBin is the path of the kplane binary built by TestMain. It is the one
// package-level variable of this test package: TestMain is the only hook that
// runs once before all tests, and building the binary per test would cost
// seconds each.
var kplaneBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// binaryEnv names an environment variable that points the tests at an
// already built kplane binary instead of building one (e.g. a release build,
// or a known-good build while the tree is mid-change).
const binaryEnv = "KPLANE_E2E_BINARY"

// runMain builds the binary into a temporary directory, runs the tests and
// removes the directory; it is split from TestMain so the deferred cleanup runs
// before os.Exit.
func runMain(m *testing.M) int {
	if bin := os.Getenv(binaryEnv); bin != "" {
		kplaneBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kplane-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: create temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	bin, err := buildKplane(dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	kplaneBin = bin
	return m.Run()
}

// buildKplane compiles ./cmd/kplane from the module root into dir, so the
// tests exercise exactly what a user would run.
func buildKplane(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kplane")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kplane")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kplane in %s: %w\n%s", root, err, out.String())
	}
	return bin, nil
}

// moduleRoot asks the go command where go.mod is, so the tests work from any
// working directory inside the module.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("go env GOMOD: not inside a module (got %q)", gomod)
	}
	return filepath.Dir(gomod), nil
}

// requireKubectl returns the kubectl to drive: the one on PATH, or one
// built from the k8s.io/kubectl module where none is installed.
func requireKubectl(t *testing.T) string {
	t.Helper()
	path, err := kubectltest.Path()
	if err != nil {
		t.Fatal(err)
	}
	return path
}
