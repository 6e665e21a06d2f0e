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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrLost is returned when leadership was lost while the work ran; the
// process should exit (as upstream components do) so it never acts next
// to a new leader.
var ErrLost = errors.New("leader election lost")

// Config of one election: a component's Options plus its client.
type Config struct {
	Options
	Client coordinationv1.LeasesGetter
	Logger *slog.Logger
}

// Run campaigns for the Lease and runs work while leading. It returns
// work's error, ErrLost, or nil when ctx ends. The Lease is released on a
// clean exit so a standby takes over at once. With Options.Disable it just
// runs work.
func Run(ctx context.Context, cfg Config, work func(context.Context) error) error {
	if cfg.Disable {
		return work(ctx)
	}
	cfg.Options = cfg.Options.WithDefaults(cfg.ResourceName)
	if err := cfg.Options.Validate(); err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.ResourceNamespace, Name: cfg.ResourceName},
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
		ReleaseOnCancel: true, Name: cfg.ResourceName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(c context.Context) {
				cfg.Logger.Info("became leader", "lease", cfg.ResourceNamespace+"/"+cfg.ResourceName, "identity", cfg.Identity)
				if workErr = work(c); workErr != nil {
					failed.Store(true)
				}
				cancel()
			},
			OnStoppedLeading: func() {
				if ctx.Err() == nil && !failed.Load() {
					lost = true
					cfg.Logger.Error("leader election lost", "lease", cfg.ResourceNamespace+"/"+cfg.ResourceName, "identity", cfg.Identity)
				}
				cancel()
			},
			OnNewLeader: func(id string) {
				if id != cfg.Identity {
					cfg.Logger.Info("another instance leads", "lease", cfg.ResourceNamespace+"/"+cfg.ResourceName, "leader", id)
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
