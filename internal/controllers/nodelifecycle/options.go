package nodelifecycle

import (
	"errors"
	"fmt"
	"time"
)

// Options tune node health monitoring; they are the node lifecycle flags
// of kube-controller-manager. Zero fields get the defaults below.
type Options struct {
	// NodeMonitorPeriod is how often node health is checked
	// (--node-monitor-period); default 5s.
	NodeMonitorPeriod time.Duration
	// NodeMonitorGracePeriod is how long a node may go without renewing its
	// Lease or Ready heartbeat before it is marked Unknown
	// (--node-monitor-grace-period); default 40s.
	NodeMonitorGracePeriod time.Duration
	// NodeStartupGracePeriod is the grace period of a node that never posted
	// a Ready condition (--node-startup-grace-period); default 1m.
	NodeStartupGracePeriod time.Duration
	// EvictionRate is the per-zone rate, in nodes per second, at which
	// unhealthy nodes get NoExecute taints while the zone is healthy
	// (--node-eviction-rate); default 0.1.
	EvictionRate float32
	// SecondaryEvictionRate is that rate while a large zone is partially
	// disrupted (--secondary-node-eviction-rate); default 0.01.
	SecondaryEvictionRate float32
	// LargeClusterSizeThreshold is the zone size above which partial
	// disruption slows evictions instead of stopping them
	// (--large-cluster-size-threshold); default 50.
	LargeClusterSizeThreshold int32
	// UnhealthyZoneThreshold is the fraction of not-Ready nodes (at least
	// three) that makes a zone partially disrupted
	// (--unhealthy-zone-threshold); default 0.55.
	UnhealthyZoneThreshold float32
}

// Defaults as upstream kube-controller-manager, except the grace period
// that kplane keeps at the pre-1.32 40s.
const (
	DefaultNodeMonitorPeriod         = 5 * time.Second
	DefaultNodeMonitorGracePeriod    = 40 * time.Second
	DefaultNodeStartupGracePeriod    = time.Minute
	DefaultEvictionRate              = float32(0.1)
	DefaultSecondaryEvictionRate     = float32(0.01)
	DefaultLargeClusterSizeThreshold = int32(50)
	DefaultUnhealthyZoneThreshold    = float32(0.55)
)

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.NodeMonitorPeriod == 0 {
		o.NodeMonitorPeriod = DefaultNodeMonitorPeriod
	}
	if o.NodeMonitorGracePeriod == 0 {
		o.NodeMonitorGracePeriod = DefaultNodeMonitorGracePeriod
	}
	if o.NodeStartupGracePeriod == 0 {
		o.NodeStartupGracePeriod = DefaultNodeStartupGracePeriod
	}
	if o.EvictionRate == 0 {
		o.EvictionRate = DefaultEvictionRate
	}
	if o.SecondaryEvictionRate == 0 {
		o.SecondaryEvictionRate = DefaultSecondaryEvictionRate
	}
	if o.LargeClusterSizeThreshold == 0 {
		o.LargeClusterSizeThreshold = DefaultLargeClusterSizeThreshold
	}
	if o.UnhealthyZoneThreshold == 0 {
		o.UnhealthyZoneThreshold = DefaultUnhealthyZoneThreshold
	}
	return o
}

// Validate reports every problem at once (call it on WithDefaults()).
func (o Options) Validate() error {
	var errs []error
	if o.NodeMonitorPeriod <= 0 {
		errs = append(errs, fmt.Errorf("node monitor period must be positive, got %s", o.NodeMonitorPeriod))
	}
	if o.NodeMonitorGracePeriod <= 0 {
		errs = append(errs, fmt.Errorf("node monitor grace period must be positive, got %s", o.NodeMonitorGracePeriod))
	}
	if o.NodeStartupGracePeriod <= 0 {
		errs = append(errs, fmt.Errorf("node startup grace period must be positive, got %s", o.NodeStartupGracePeriod))
	}
	if o.EvictionRate < 0 || o.SecondaryEvictionRate < 0 {
		errs = append(errs, errors.New("eviction rates must not be negative"))
	}
	if o.LargeClusterSizeThreshold < 0 {
		errs = append(errs, fmt.Errorf("large cluster size threshold must not be negative, got %d", o.LargeClusterSizeThreshold))
	}
	if o.UnhealthyZoneThreshold < 0 || o.UnhealthyZoneThreshold > 1 {
		errs = append(errs, fmt.Errorf("unhealthy zone threshold must be in [0,1], got %v", o.UnhealthyZoneThreshold))
	}
	return errors.Join(errs...)
}
