package etcd

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childDirEnv tells the re-executed test binary to act as the etcd child.
const childDirEnv = "KPLANE_ETCD_TEST_CHILD_DIR"

// TestChildProcess is not a test: run by TestKill9KeepsAcknowledgedWrites in
// a child process, it starts etcd, writes keys, reports each acknowledged
// write on stdout and then waits to be killed.
func TestChildProcess(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("helper for TestKill9KeepsAcknowledgedWrites")
	}
	s, err := New(Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := s.Start(context.Background()); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	c, err := s.Client()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := range 50 {
		if _, err := c.Put(context.Background(), fmt.Sprintf("k%02d", i), "v"); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("acked k%02d\n", i)
	}
	fmt.Println("done")
	select {} // until SIGKILL
}

func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := filepath.Join(t.TempDir(), "etcd")
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	for sc.Scan() {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "acked "); ok {
			acked = append(acked, k)
		}
		if strings.HasPrefix(line, "error") {
			t.Errorf("child: %s", line)
		}
		if line == "done" {
			break
		}
	}
	deadline.Stop()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) != 50 {
		t.Fatalf("child acknowledged %d writes, want 50", len(acked))
	}

	s, _ := startServer(t, dir, nil)
	c := client(t, s)
	for _, k := range acked {
		if _, ok := get(t, c, k); !ok {
			t.Errorf("acknowledged key %s lost after kill -9", k)
		}
	}
}
