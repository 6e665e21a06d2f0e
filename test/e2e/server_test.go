package e2e

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// startTimeout bounds how long a server may take to print its kubeconfig
// line; generous because the machine running CI may be slow and shared.
const startTimeout = 90 * time.Second

// stopTimeout bounds how long a server may take to exit after a signal.
const stopTimeout = 60 * time.Second

// server is one running `kplane up` child process.
type server struct {
	dataDir    string
	kubeconfig string
	url        string

	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and exitErr is set

	mu      sync.Mutex // guards output
	output  strings.Builder
	exitErr error // result of cmd.Wait; read only after done is closed
}

// startServer runs `kplane up --data-dir dataDir --port 0 [extra...]` and
// waits until it prints the kubeconfig path. The process is stopped (SIGTERM, then SIGKILL)
// when the test ends, and its output is logged if the test failed.
func startServer(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	s := &server{dataDir: dataDir, done: make(chan struct{})}
	s.cmd = exec.Command(kplaneBin, append([]string{"up", "--data-dir", dataDir, "--port", "0"}, extra...)...)
	s.cmd.Env = envWithout(os.Environ(), "KPLANE_")
	killWithParent(s.cmd)

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	s.cmd.Stdout = pw
	s.cmd.Stderr = pw
	if err := s.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("start %s: %v", kplaneBin, err)
	}
	pw.Close() // the child holds its own copy

	ready := make(chan struct{})
	go s.readOutput(pr, ready)
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.done)
	}()

	t.Cleanup(func() {
		if s.running() {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(stopTimeout):
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		}
		if t.Failed() {
			t.Logf("kplane output (data dir %s):\n%s", s.dataDir, s.logs())
		}
	})

	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("kplane exited before becoming ready (%v):\n%s", s.exitErr, s.logs())
	case <-time.After(startTimeout):
		t.Fatalf("kplane did not print its kubeconfig within %s:\n%s", startTimeout, s.logs())
	}
	return s
}

// readOutput copies the process output into s.output until EOF and closes
// ready once both the URL and kubeconfig lines have been seen.
func (s *server) readOutput(r *os.File, ready chan<- struct{}) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.output.WriteString(line)
		s.output.WriteByte('\n')
		if rest, ok := strings.CutPrefix(line, "kplane is ready at "); ok {
			s.url, _, _ = strings.Cut(rest, " ")
		}
		if rest, ok := strings.CutPrefix(line, "kubeconfig: "); ok {
			s.kubeconfig = strings.TrimSpace(rest)
		}
		if !signalled && s.kubeconfig != "" && s.url != "" {
			signalled = true
			close(ready)
		}
		s.mu.Unlock()
	}
}

// logs returns everything the process has printed so far.
func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

func (s *server) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and returns the process exit code once it has exited.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	return s.signal(t, syscall.SIGTERM)
}

// kill sends SIGKILL, simulating a crash or power loss of the process.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.signal(t, syscall.SIGKILL)
}

func (s *server) signal(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("send %v to kplane: %v", sig, err)
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		t.Fatalf("kplane did not exit within %s after %v:\n%s", stopTimeout, sig, s.logs())
	}
	return s.cmd.ProcessState.ExitCode()
}

// clientset returns a client-go clientset for the admin kubeconfig without
// client-side rate limiting, for tests that need many fast writes.
func (s *server) clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		t.Fatalf("load kubeconfig %s: %v", s.kubeconfig, err)
	}
	cfg.QPS = 1000
	cfg.Burst = 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("build clientset: %v", err)
	}
	return cs
}

// envWithout returns env minus the variables whose names start with prefix,
// so a developer's KPLANE_* or KUBECONFIG settings cannot leak into a test.
func envWithout(env []string, prefix string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
