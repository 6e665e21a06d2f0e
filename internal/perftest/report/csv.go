package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// PodTiming is one pod's startup timeline. Zero times were not observed.
// Created, Scheduled and Running come from the API (Scheduled from the
// PodScheduled condition, Running from the containers' start times), so
// they have the server's one-second resolution unless the driver created
// the pod itself, in which case Created is the client's clock just before
// the create call. Watched is the client's clock when its informer first
// saw the pod Running.
type PodTiming struct {
	Namespace, Name, Group, Node         string
	Created, Scheduled, Running, Watched time.Time
}

// CSVHeader is the first line of pods.csv.
var CSVHeader = []string{"namespace", "name", "group", "node", "created", "scheduled", "running", "watched",
	StageCreateToSchedule, StageScheduleToRun, StageRunToWatch, StageEndToEnd}

// WritePodCSV writes one row per pod: timestamps as RFC 3339 with
// nanoseconds and stage latencies in seconds (empty when a stage did not
// happen).
func WritePodCSV(w io.Writer, pods []PodTiming) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, p := range pods {
		row := []string{p.Namespace, p.Name, p.Group, p.Node, ts(p.Created), ts(p.Scheduled), ts(p.Running), ts(p.Watched),
			dur(p.Created, p.Scheduled), dur(p.Scheduled, p.Running), dur(p.Running, p.Watched), dur(p.Created, p.Watched)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write pods CSV: %w", err)
	}
	return nil
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func dur(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return ""
	}
	return strconv.FormatFloat(StageSeconds(a, b), 'f', 3, 64)
}

// StageSeconds is b-a in seconds, never negative: server timestamps have
// one-second resolution, so a later stage can appear to precede an earlier
// one that was measured more precisely.
func StageSeconds(a, b time.Time) float64 {
	d := b.Sub(a).Seconds()
	if d < 0 {
		return 0
	}
	return d
}
