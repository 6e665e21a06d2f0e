// Package controllertest runs controllers against a real in-process control
// plane for tests: the API server and etcd from controlplane.Start, and the
// named controllers through the real controller manager (manager.New) with
// per-controller service-account credentials and leader election off, so
// tests exercise the same wiring and RBAC roles as `kplane up`. It also has
// the small kubelet stand-ins and wait helpers controller tests share.
//
// It is a regular (non-test) package so that every controller package's
// external tests can import it; production code must not.
package controllertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controllers/manager"
	"kplane/internal/controlplane"
)

// ReadyTimeout bounds how long a manager may take to start its controllers.
const ReadyTimeout = 60 * time.Second

// Env is a control plane and, once RunManager was called, a controller
// manager running on it.
type Env struct {
	// CP is the control plane.
	CP *controlplane.ControlPlane
	// AdminConfig is the cluster admin's client config (QPS 1000, burst
	// 2000, so tests are not throttled by the client).
	AdminConfig *rest.Config
	// Admin is a clientset for AdminConfig.
	Admin kubernetes.Interface

	stops []func() error // manager stops, in start order
}

// Start starts a control plane in a temporary directory and a controller
// manager running cfg (see RunManager); both stop when the test ends, and
// an error from the manager fails the test.
func Start(t testing.TB, cfg manager.Config) *Env {
	t.Helper()
	env := NewControlPlane(t)
	if err := env.RunManager(cfg); err != nil {
		t.Fatalf("controller manager: %v", err)
	}
	return env
}

// NewControlPlane starts a control plane in a temporary directory, for a
// test that prepares objects before it calls RunManager; the control plane
// and its managers stop when the test ends, and a manager's error fails
// the test.
func NewControlPlane(t testing.TB) *Env {
	t.Helper()
	env, err := StartControlPlane(t.TempDir())
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return env
}

// StartControlPlane starts a control plane (etcd without fsync) with its
// data in dir; Stop stops it. The control plane does not depend on a
// context, so it outlives the managers and receives their last writes.
func StartControlPlane(dir string) (*Env, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(context.Background(), controlplane.Config{DataDir: dir, Port: 0, Logger: log, EtcdUnsafeNoFsync: true})
	if err != nil {
		return nil, fmt.Errorf("control plane: %w", err)
	}
	adminCfg, err := cp.AdminConfig()
	if err != nil {
		_ = cp.Stop()
		return nil, fmt.Errorf("admin config: %w", err)
	}
	adminCfg.QPS, adminCfg.Burst = 1000, 2000
	admin, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		_ = cp.Stop()
		return nil, fmt.Errorf("admin client: %w", err)
	}
	return &Env{CP: cp, AdminConfig: adminCfg, Admin: admin}, nil
}

// ControllerManagerConfig is the controller manager's own identity
// (user system:kube-controller-manager), as `kplane controller-manager`
// loads it.
func (e *Env) ControllerManagerConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.CP.ControllerManagerKubeconfig())
	if err != nil {
		return nil, fmt.Errorf("controller manager kubeconfig: %w", err)
	}
	return cfg, nil
}

// RunManager runs a controller manager until Stop and waits until its
// controllers run. Leader election is always off; an unset RESTConfig is
// ControllerManagerConfig and an unset Logger discards. Everything else,
// such as Controllers, Concurrency, Metrics or NodeLifecycle, is the
// caller's.
func (e *Env) RunManager(cfg manager.Config) error {
	if cfg.RESTConfig == nil {
		c, err := e.ControllerManagerConfig()
		if err != nil {
			return err
		}
		cfg.RESTConfig = c
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.LeaderElection.Disable = true
	m, err := manager.New(cfg)
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stop := func() error {
		cancel()
		return <-done
	}
	select {
	case <-m.Ready():
	case err := <-done:
		cancel()
		return fmt.Errorf("manager exited: %w", err)
	case <-time.After(ReadyTimeout):
		_ = stop()
		return fmt.Errorf("manager not ready after %s", ReadyTimeout)
	}
	e.stops = append(e.stops, stop)
	return nil
}

// Stop stops the managers, newest first, then the control plane; it
// returns the managers' errors.
func (e *Env) Stop() error {
	var errs []error
	for i := len(e.stops) - 1; i >= 0; i-- {
		if err := e.stops[i](); err != nil {
			errs = append(errs, fmt.Errorf("manager: %w", err))
		}
	}
	e.stops = nil
	if err := e.CP.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("control plane: %w", err))
	}
	return errors.Join(errs...)
}
