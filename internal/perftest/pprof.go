package perftest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

// profiler captures pprof profiles of the API server process (every kplane
// component in `kplane up`) from its /debug/pprof endpoints.
type profiler struct {
	client rest.Interface
	dir    string
}

// cpu records a CPU profile of d into cpu-<name>.pprof; it blocks for d.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) (string, error) {
	secs := max(1, int(d.Seconds()))
	ctx, cancel := context.WithTimeout(ctx, d+60*time.Second)
	defer cancel()
	b, err := p.client.Get().AbsPath("/debug/pprof/profile").Param("seconds", strconv.Itoa(secs)).Timeout(d + 60*time.Second).Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("CPU profile: %w", err)
	}
	return p.write("cpu-"+name+".pprof", b)
}

// heap records a heap profile into heap-<name>.pprof.
func (p *profiler) heap(ctx context.Context, name string) (string, error) {
	b, err := p.client.Get().AbsPath("/debug/pprof/heap").Do(ctx).Raw()
	if err != nil {
		return "", fmt.Errorf("heap profile: %w", err)
	}
	return p.write("heap-"+name+".pprof", b)
}

func (p *profiler) write(file string, b []byte) (string, error) {
	if err := os.WriteFile(filepath.Join(p.dir, file), b, 0o644); err != nil {
		return "", err
	}
	return file, nil
}
