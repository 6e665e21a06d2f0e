package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// SchemaVersion names the shape of result.json. It changes whenever a field
// is renamed or its meaning changes, so that `kplane report compare` can
// refuse to compare apples with pears; adding optional fields keeps it.
const SchemaVersion = "kplane.perftest/v1"

// Schema is the JSON Schema (draft 2020-12) of result.json, documented in
// docs/perftest-schema.md. Tests validate every result they write with it.
//
//go:embed result.schema.json
var Schema []byte

// Verdicts of an SLO and of a whole run.
const (
	VerdictPass = "pass"
	VerdictFail = "fail"
	// VerdictIncomplete: the run did not finish, so a passing set of
	// (partial) numbers proves nothing.
	VerdictIncomplete = "incomplete"
)

// Result is everything one `kplane test` run measured. Times are RFC 3339
// with nanoseconds; durations and latencies are in seconds.
type Result struct {
	SchemaVersion string    `json:"schemaVersion"`
	Test          string    `json:"test"` // "density" or "load"
	RunID         string    `json:"runId"`
	StartTime     time.Time `json:"startTime"`
	EndTime       time.Time `json:"endTime"`
	// DurationSeconds is EndTime-StartTime.
	DurationSeconds float64 `json:"durationSeconds"`
	// Finished is false when the run stopped early (timeout, error, Ctrl-C);
	// Error then says why and Partial lists the measurements that only
	// cover part of the run.
	Finished bool     `json:"finished"`
	Error    string   `json:"error,omitempty"`
	Partial  []string `json:"partial,omitempty"`

	Inputs      Inputs      `json:"inputs"`
	Environment Environment `json:"environment"`
	Phases      []Phase     `json:"phases"`
	// PodStartup has one group per kind of pod: "saturation" (density's
	// RC pods), "latency" (density's one-by-one pods), "load".
	PodStartup []PodStartupGroup `json:"podStartup"`
	// WatchDelay is the watch event latency: for pods the test created
	// itself (density's latency pods), the time from the create call's
	// response to its informer's ADD event, 0 when the event came first.
	WatchDelay   *Quantiles       `json:"watchDelay,omitempty"`
	APILatency   APILatency       `json:"apiLatency"`
	Throughput   Throughput       `json:"throughput"`
	Resources    Resources        `json:"resources"`
	ObjectCounts map[string]int64 `json:"objectCounts"`
	SLOs         []SLO            `json:"slos"`
	// Verdict is pass only when the run finished and every SLO passed.
	Verdict  string   `json:"verdict"`
	Profiles []string `json:"profiles,omitempty"`
	// Files are the other files of the run, relative to result.json.
	Files []string `json:"files,omitempty"`
}

// Inputs are the knobs of the run, enough to repeat it.
type Inputs struct {
	Nodes            int     `json:"nodes"`
	CreatedNodes     int     `json:"createdNodes"`
	PodsPerNode      int     `json:"podsPerNode"`
	LatencyPods      int     `json:"latencyPods,omitempty"`
	Seed             int64   `json:"seed"`
	SpecFile         string  `json:"specFile,omitempty"`
	Spec             any     `json:"spec"`
	TimeoutSeconds   float64 `json:"timeoutSeconds"`
	ClientQPS        float64 `json:"clientQPS"`
	ClientBurst      int     `json:"clientBurst"`
	CommandLine      string  `json:"commandLine,omitempty"`
	PprofRequested   bool    `json:"pprof"`
	ResourcePIDs     []int   `json:"resourcePIDs,omitempty"`
	ReportDirectory  string  `json:"reportDir,omitempty"`
	SampleIntervalMS int64   `json:"sampleIntervalMs"`
}

// Environment is where the run happened.
type Environment struct {
	Hostname      string `json:"hostname"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	CPUs          int    `json:"cpus"`
	GoVersion     string `json:"goVersion"`
	KplaneVersion string `json:"kplaneVersion"`
	ServerURL     string `json:"serverURL"`
	ServerVersion string `json:"serverVersion"`
	ServerBuild   string `json:"serverBuild,omitempty"`
	Nodes         int    `json:"nodes"`
}

// Phase is one step of a driver (saturation, latency, create, scale...).
type Phase struct {
	Name            string    `json:"name"`
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	DurationSeconds float64   `json:"durationSeconds"`
	Finished        bool      `json:"finished"`
	// Tuning describes the pacing of the phase's API calls.
	Tuning string `json:"tuning,omitempty"`
	// Objects is how many API objects the phase wrote (created, updated,
	// scaled or deleted).
	Objects int `json:"objects"`
	// Pods is how many pods reached Running (or went away, for deletes)
	// during the phase.
	Pods int `json:"pods"`
	// PodsPerSecond is Pods/DurationSeconds: the saturation throughput.
	PodsPerSecond float64 `json:"podsPerSecond"`
}

// Quantiles summarise a latency distribution, in seconds.
type Quantiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Stage names of pod startup, in order.
const (
	StageCreateToSchedule = "create_to_schedule"
	StageScheduleToRun    = "schedule_to_run"
	StageRunToWatch       = "run_to_watch"
	StageEndToEnd         = "create_to_watch"
)

// Stages lists the stage names in display order.
var Stages = []string{StageCreateToSchedule, StageScheduleToRun, StageRunToWatch, StageEndToEnd}

// PodStartupGroup holds the per-stage latency of one group of pods.
type PodStartupGroup struct {
	Group string `json:"group"`
	// Pods is how many pods of the group were created; Complete how many
	// were seen Running.
	Pods     int                  `json:"pods"`
	Complete int                  `json:"complete"`
	Stages   map[string]Quantiles `json:"stages"`
	// CDF is the end-to-end (create_to_watch) distribution, at most a few
	// hundred points, for charts and comparisons.
	CDF []CDFPoint `json:"cdf,omitempty"`
}

// CDFPoint says that Fraction of pods started within Seconds.
type CDFPoint struct {
	Seconds  float64 `json:"s"`
	Fraction float64 `json:"f"`
}

// APILatency holds API call latency seen by the server and by the client.
type APILatency struct {
	// ServerAvailable is false when the server's /metrics could not be
	// read (no permission, not exposed); Server is then empty.
	ServerAvailable bool          `json:"serverAvailable"`
	ServerNote      string        `json:"serverNote,omitempty"`
	Server          []APIEndpoint `json:"server"`
	Client          []APIEndpoint `json:"client"`
}

// APIEndpoint is the latency of one verb/resource/scope over the run.
// Quantiles from histograms are interpolated within buckets, as
// Prometheus' histogram_quantile does.
type APIEndpoint struct {
	Verb        string  `json:"verb"`
	Group       string  `json:"group,omitempty"`
	Resource    string  `json:"resource"`
	Subresource string  `json:"subresource,omitempty"`
	Scope       string  `json:"scope"` // resource, namespace or cluster
	Count       int64   `json:"count"`
	P50         float64 `json:"p50"`
	P90         float64 `json:"p90"`
	P99         float64 `json:"p99"`
}

// Throughput is pod progress over time: per interval, how many pods were
// created, scheduled and seen Running.
type Throughput struct {
	IntervalSeconds float64           `json:"intervalSeconds"`
	Series          []ThroughputPoint `json:"series"`
	// MaxScheduledPerSecond is the best interval's scheduling rate.
	MaxScheduledPerSecond float64 `json:"maxScheduledPerSecond"`
}

// ThroughputPoint counts events in [T, T+interval), T in seconds since the
// run started.
type ThroughputPoint struct {
	T         float64 `json:"t"`
	Created   int     `json:"created"`
	Scheduled int     `json:"scheduled"`
	Running   int     `json:"running"`
}

// Resources is the control plane's resource usage during the run.
type Resources struct {
	Samples []ResourceSample  `json:"samples"`
	Summary []ResourceSummary `json:"summary"`
	// EtcdDBSizeBytes is etcd's database size at the end of the run, when
	// the server exposes it; EtcdDBSizeAvailable says whether it did.
	EtcdDBSizeAvailable bool  `json:"etcdDbSizeAvailable"`
	EtcdDBSizeBytes     int64 `json:"etcdDbSizeBytes,omitempty"`
}

// ResourceSample is one reading of one process (CPU in cores averaged
// since the previous sample).
type ResourceSample struct {
	T        float64 `json:"t"`
	Process  string  `json:"process"`
	CPUCores float64 `json:"cpuCores"`
	RSSBytes int64   `json:"rssBytes"`
}

// ResourceSummary condenses the samples of one process.
type ResourceSummary struct {
	Process     string  `json:"process"`
	Source      string  `json:"source"` // "proc" or "metrics"
	CPUAvgCores float64 `json:"cpuAvgCores"`
	CPUMaxCores float64 `json:"cpuMaxCores"`
	RSSMaxBytes int64   `json:"rssMaxBytes"`
}

// SLO is one verdict: the measured value against its threshold.
type SLO struct {
	Name      string  `json:"name"`
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit"`
	Verdict   string  `json:"verdict"`
	// Partial marks a value measured over an unfinished run.
	Partial bool   `json:"partial,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// WriteFile writes r as indented JSON.
func (r *Result) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// ErrSchemaVersion is returned by ReadFile for a result of another schema.
var ErrSchemaVersion = fmt.Errorf("unsupported result schema version (want %s)", SchemaVersion)

// ReadFile reads a result.json, refusing other schema versions.
func ReadFile(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %q: %w", path, r.SchemaVersion, ErrSchemaVersion)
	}
	return &r, nil
}

// Group returns the pod startup group named g, or nil.
func (r *Result) Group(g string) *PodStartupGroup {
	for i := range r.PodStartup {
		if r.PodStartup[i].Group == g {
			return &r.PodStartup[i]
		}
	}
	return nil
}
