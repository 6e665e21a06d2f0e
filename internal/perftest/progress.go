package perftest

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress shows where a run is. The drivers call Phase when a phase
// starts and Set as work completes.
type Progress interface {
	// Phase starts a phase with total units of work (pods, objects).
	Phase(name string, total int)
	// Set reports done units and a short detail ("1200 running").
	Set(done int, detail string)
	// Finish ends the display.
	Finish()
}

// NewBarProgress draws a progress bar on a terminal w: phase, count, rate
// and ETA.
func NewBarProgress(w io.Writer) Progress { return &barProgress{w: w} }

type barProgress struct {
	w     io.Writer
	mu    sync.Mutex // guards bar and phase
	bar   *progressbar.ProgressBar
	phase string
}

func (b *barProgress) Phase(name string, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		_ = b.bar.Finish()
		fmt.Fprintln(b.w)
	}
	b.phase = name
	b.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-12s", name)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
	)
}

func (b *barProgress) Set(done int, detail string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar == nil {
		return
	}
	if detail != "" {
		b.bar.Describe(fmt.Sprintf("%-12s %s", b.phase, detail))
	}
	_ = b.bar.Set(done)
}

func (b *barProgress) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		_ = b.bar.Finish()
		fmt.Fprintln(b.w)
		b.bar = nil
	}
}

// NewLogProgress logs one line per phase change and at most one progress
// line per interval: what CI logs and redirected output want.
func NewLogProgress(log *slog.Logger, interval time.Duration) Progress {
	return &logProgress{log: log, interval: interval}
}

type logProgress struct {
	log      *slog.Logger
	interval time.Duration

	mu       sync.Mutex // guards the fields below
	phase    string
	total    int
	start    time.Time
	lastLog  time.Time
	lastDone int
}

func (l *logProgress) Phase(name string, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase, l.total, l.start, l.lastLog, l.lastDone = name, total, time.Now(), time.Now(), -1
	l.log.Info("phase started", "phase", name, "total", total)
}

func (l *logProgress) Set(done int, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.lastLog) < l.interval || done == l.lastDone {
		return
	}
	l.lastLog, l.lastDone = now, done
	el := now.Sub(l.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el
	}
	eta := "unknown"
	if rate > 0 && l.total > done {
		eta = (time.Duration(float64(l.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	l.log.Info("progress", "phase", l.phase, "done", done, "total", l.total, "rate", fmt.Sprintf("%.1f/s", rate), "eta", eta, "detail", detail)
}

func (l *logProgress) Finish() {}
