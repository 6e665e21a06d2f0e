// Package leaderelection runs a component's work only while it holds a
// coordination.k8s.io Lease, as kube-controller-manager and kube-scheduler
// do, so that of several instances exactly one acts and another takes over
// within seconds when it dies.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLost is returned when leadership was lost while the work ran; the
// process should exit (as upstream components do) so it never acts next
// to a new leader.
var ErrLost = errors.New("leader election lost")

// Config of one election. Durations default to upstream's 15s/10s/2s.
type Config struct {
	Client                                    coordinationv1.LeasesGetter
	Namespace, Name, Identity                 string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Logger                                    *slog.Logger
}

// Run campaigns for the Lease and runs work while leading. It returns
// work's error, ErrLost, or nil when ctx ends. The Lease is released on a
// clean exit so a standby takes over at once.
func Run(ctx context.Context, cfg Config, work func(context.Context) error) error {
	if cfg.LeaseDuration == 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline == 0 {
		cfg.RenewDeadline = 10 * time.Second
	}
	if cfg.RetryPeriod == 0 {
		cfg.RetryPeriod = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     cfg.Client,
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	var (
		workErr error
		lost    bool
		failed  atomic.Bool
	)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
		ReleaseOnCancel: true, Name: cfg.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(c context.Context) {
				cfg.Logger.Info("became leader", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
				if workErr = work(c); workErr != nil {
					failed.Store(true)
				}
				cancel()
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil && !failed.Load() {
					lost = true
					cfg.Logger.Error("leader election lost", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
				}
				cancel()
			},
			OnNewLeader: func(id string) {
				if id != cfg.Identity {
					cfg.Logger.Info("another instance leads", "lease", cfg.Namespace+"/"+cfg.Name, "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	le.Run(lctx)
	if lost {
		return ErrLost
	}
	return workErr
}
