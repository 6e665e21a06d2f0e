// Package kubectltest gives tests a real kubectl: the one on PATH, or
// else one built once per machine from the k8s.io/kubectl module (the
// nested module in ./kubectl), so kubectl-driven tests run everywhere
// instead of skipping.
package kubectltest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Version of the k8s.io/kubectl module the fallback is built from.
const Version = "v0.37.2"

var (
	once    sync.Once
	path    string
	pathErr error
)

// Path returns the kubectl to test with. When none is on PATH it builds
// one into the user cache directory (a few minutes the first time on a
// 2-core machine; reused afterwards, also by other test packages).
func Path() (string, error) {
	once.Do(func() { path, pathErr = find() })
	return path, pathErr
}

func find() (string, error) {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "kplane", "kubectl-"+Version)
	bin := filepath.Join(dir, "kubectl")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kubectltest: cannot locate the kubectl module source")
	}
	src := filepath.Join(filepath.Dir(self), "kubectl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("kubectltest: %w", err)
	}
	// Build to a unique name and rename, so concurrent test packages do
	// not see a half-written binary.
	tmp := fmt.Sprintf("%s.%d.%d", bin, os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("kubectltest: build kubectl %s from the k8s.io/kubectl module: %v\n%s", Version, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("kubectltest: %w", err)
	}
	return bin, nil
}
