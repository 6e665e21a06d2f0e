package perftest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"kplane/internal/perftest/report"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuReading is cumulative CPU seconds and current RSS at a moment.
type cpuReading struct {
	at      time.Time
	cpuSecs float64
	rss     int64
	ok      bool
}

// resourceTarget is one process whose usage is sampled: a local process
// through /proc, or the API server through its process_* metrics.
type resourceTarget struct {
	name   string
	source string // "proc" or "metrics"
	read   func(ctx context.Context) (cpuReading, error)
	last   cpuReading
}

// procTarget reads /proc/<pid>/stat (utime+stime) and /proc/<pid>/statm
// (resident pages). pid 0 means this process: `kplane test` itself, which
// also hosts the hollow nodes of --create-nodes.
func procTarget(name string, pid int) *resourceTarget {
	dir := "/proc/self"
	if pid > 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	page := int64(os.Getpagesize())
	return &resourceTarget{name: name, source: "proc", read: func(context.Context) (cpuReading, error) {
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			return cpuReading{}, err
		}
		// Fields after the parenthesised command name, which may hold spaces.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			return cpuReading{}, fmt.Errorf("%s/stat: malformed", dir)
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 13 {
			return cpuReading{}, fmt.Errorf("%s/stat: short", dir)
		}
		ut, _ := strconv.ParseFloat(f[11], 64) // field 14 utime
		st, _ := strconv.ParseFloat(f[12], 64) // field 15 stime
		statm, err := os.ReadFile(dir + "/statm")
		if err != nil {
			return cpuReading{}, err
		}
		sf := strings.Fields(string(statm))
		if len(sf) < 2 {
			return cpuReading{}, fmt.Errorf("%s/statm: short", dir)
		}
		pages, _ := strconv.ParseInt(sf[1], 10, 64)
		return cpuReading{cpuSecs: (ut + st) / clockTicks, rss: pages * page, ok: true}, nil
	}}
}

// cgroupTarget reads a cgroup v2 directory (a container's, or a systemd
// unit's): cpu.stat usage_usec and memory.current, for control planes
// that run in containers.
func cgroupTarget(dir string) *resourceTarget {
	return &resourceTarget{name: "cgroup " + dir, source: "proc", read: func(context.Context) (cpuReading, error) {
		stat, err := os.ReadFile(dir + "/cpu.stat")
		if err != nil {
			return cpuReading{}, err
		}
		var usec float64
		for _, line := range strings.Split(string(stat), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				usec, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
		mem, err := os.ReadFile(dir + "/memory.current")
		if err != nil {
			return cpuReading{}, err
		}
		rss, _ := strconv.ParseInt(strings.TrimSpace(string(mem)), 10, 64)
		return cpuReading{cpuSecs: usec / 1e6, rss: rss, ok: true}, nil
	}}
}

// metricsTarget reads the API server's own process_cpu_seconds_total and
// process_resident_memory_bytes (exposed by upstream kube-apiserver and by
// kplane), which covers a server in another process or on another host.
func metricsTarget(name string, scrape func(ctx context.Context) (map[string]*dto.MetricFamily, error)) *resourceTarget {
	return &resourceTarget{name: name, source: "metrics", read: func(ctx context.Context) (cpuReading, error) {
		fams, err := scrape(ctx)
		if err != nil {
			return cpuReading{}, err
		}
		cpu, ok1 := gauge(fams, "process_cpu_seconds_total")
		rss, ok2 := gauge(fams, "process_resident_memory_bytes")
		if !ok1 || !ok2 {
			return cpuReading{}, fmt.Errorf("process metrics not exposed")
		}
		return cpuReading{cpuSecs: cpu, rss: int64(rss), ok: true}, nil
	}}
}

// resourceSampler samples its targets every interval until stopped.
type resourceSampler struct {
	clock    func() time.Time
	start    time.Time
	interval time.Duration
	targets  []*resourceTarget

	mu      sync.Mutex // guards samples and failed
	samples []report.ResourceSample
	failed  map[string]error
}

func newResourceSampler(clock func() time.Time, start time.Time, interval time.Duration, targets []*resourceTarget) *resourceSampler {
	return &resourceSampler{clock: clock, start: start, interval: interval, targets: targets, failed: map[string]error{}}
}

// run samples until ctx is done.
func (s *resourceSampler) run(ctx context.Context) {
	s.sample(ctx)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sample(ctx)
		}
	}
}

func (s *resourceSampler) sample(ctx context.Context) {
	for _, tg := range s.targets {
		rd, err := tg.read(ctx)
		now := s.clock()
		s.mu.Lock()
		if err != nil {
			s.failed[tg.name] = err
			s.mu.Unlock()
			continue
		}
		rd.at = now
		if tg.last.ok {
			dt := rd.at.Sub(tg.last.at).Seconds()
			cores := 0.0
			if dt > 0 && rd.cpuSecs >= tg.last.cpuSecs {
				cores = (rd.cpuSecs - tg.last.cpuSecs) / dt
			}
			s.samples = append(s.samples, report.ResourceSample{T: now.Sub(s.start).Seconds(), Process: tg.name, CPUCores: cores, RSSBytes: rd.rss})
		}
		tg.last = rd
		s.mu.Unlock()
	}
}

// result summarises the samples per target.
func (s *resourceSampler) result() report.Resources {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := report.Resources{Samples: append([]report.ResourceSample{}, s.samples...), Summary: []report.ResourceSummary{}}
	for _, tg := range s.targets {
		sum := report.ResourceSummary{Process: tg.name, Source: tg.source}
		n := 0
		for _, smp := range s.samples {
			if smp.Process != tg.name {
				continue
			}
			n++
			sum.CPUAvgCores += smp.CPUCores
			sum.CPUMaxCores = max(sum.CPUMaxCores, smp.CPUCores)
			sum.RSSMaxBytes = max(sum.RSSMaxBytes, smp.RSSBytes)
		}
		if n == 0 {
			continue
		}
		sum.CPUAvgCores /= float64(n)
		res.Summary = append(res.Summary, sum)
	}
	return res
}
