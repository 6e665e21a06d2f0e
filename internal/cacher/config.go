package cacher

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"

	"kplane/internal/storage"
)

// AttrFunc returns the labels and field-selector attributes of a stored
// object; the cacher computes them once per object version.
type AttrFunc func(obj runtime.Object) (labels.Set, fields.Set, error)

// Config configures one resource's cache. Zero values get the documented
// defaults.
type Config struct {
	// Store is the etcd store the cache lists and watches (required).
	Store *storage.Store
	// Prefix is the resource's etcd key prefix, ending in "/" (required),
	// e.g. "/registry/pods/".
	Prefix string
	// Type is the storage kind, for the store's metrics (e.g. "Pod").
	Type string
	// Resource names the cache in metrics and logs (e.g. "pods",
	// "deployments.apps"); default Prefix.
	Resource string
	// Attrs computes labels and fields of objects (required).
	Attrs AttrFunc
	// IndexFields are field-selector keys indexed for lists and for
	// dispatching events to watchers (pods: spec.nodeName). An equality
	// selector on one of them narrows a list or watch to that value.
	IndexFields []string
	// HistoryRevisions: on start the cache lists etcd this many revisions
	// back (when not compacted) and replays the changes since, so watchers
	// that reconnect after an API server restart resume from their last
	// resourceVersion instead of relisting; default 10,000, negative none.
	HistoryRevisions int64
	// MaxEvents bounds the event window by count; default 25,000.
	MaxEvents int
	// MaxEventAge bounds the event window by age; default 5 minutes.
	MaxEventAge time.Duration
	// WatcherBuffer is the event queue of a watcher that is not narrowed
	// by an index; default 1,000. IndexedWatcherBuffer is that of a watcher
	// narrowed by key or index field; default 100. A watcher whose queue
	// is full when an event arrives is closed; the client then resumes from
	// its last resourceVersion.
	WatcherBuffer, IndexedWatcherBuffer int
	// DispatchBudget is how long one event may wait for full watcher
	// queues to drain before those watchers are closed; default 50 ms.
	DispatchBudget time.Duration
	// ConsistentReadTimeout is how long a consistent read waits for the
	// cache to catch up with etcd before reading etcd; default 3 s.
	ConsistentReadTimeout time.Duration
	// ProgressInterval is how often the cache asks etcd for progress so its
	// resourceVersion advances when the resource is idle; default 5 s.
	ProgressInterval time.Duration
	// BookmarkCheck is how often due bookmarks are sent; default 1 s.
	BookmarkCheck time.Duration
	// SnapshotTTL is how long a paginated list's snapshot is kept for its
	// continue pages; default 75 s. MaxSnapshots bounds them; default 16.
	SnapshotTTL  time.Duration
	MaxSnapshots int
	// Logger defaults to slog.Default(); Clock to the real clock.
	Logger *slog.Logger
	Clock  clock.WithTicker
	// Metrics may be nil (no metrics).
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.Resource == "" {
		c.Resource = c.Prefix
	}
	if c.HistoryRevisions == 0 {
		c.HistoryRevisions = 10000
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = 25000
	}
	if c.MaxEventAge <= 0 {
		c.MaxEventAge = 5 * time.Minute
	}
	if c.WatcherBuffer <= 0 {
		c.WatcherBuffer = 1000
	}
	if c.IndexedWatcherBuffer <= 0 {
		c.IndexedWatcherBuffer = 100
	}
	if c.DispatchBudget <= 0 {
		c.DispatchBudget = 50 * time.Millisecond
	}
	if c.ConsistentReadTimeout <= 0 {
		c.ConsistentReadTimeout = 3 * time.Second
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 5 * time.Second
	}
	if c.BookmarkCheck <= 0 {
		c.BookmarkCheck = time.Second
	}
	if c.SnapshotTTL <= 0 {
		c.SnapshotTTL = 75 * time.Second
	}
	if c.MaxSnapshots <= 0 {
		c.MaxSnapshots = 16
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
}

// Validate reports every missing setting at once.
func (c *Config) Validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("cacher: Store is required"))
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		errs = append(errs, errors.New("cacher: Prefix must end in /"))
	}
	if c.Attrs == nil {
		errs = append(errs, errors.New("cacher: Attrs is required"))
	}
	return errors.Join(errs...)
}
