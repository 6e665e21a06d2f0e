package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"

	"kplane/internal/componentserver"
)

// servingFlags are a standalone component's --bind-address and
// --secure-port.
type servingFlags struct {
	bindAddress string
	securePort  int
}

// standaloneRegistry is a standalone component's own /metrics registry,
// with the Go runtime and process collectors upstream components expose.
func standaloneRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// withComponentServer runs the component and, unless the port is 0, its
// health/metrics/pprof server (delegated authn/authz with the
// component's identity) until either fails or ctx ends.
func withComponentServer(ctx context.Context, name string, f servingFlags, rc *rest.Config, reg *prometheus.Registry,
	ready <-chan struct{}, log *slog.Logger, run func(ctx context.Context) error) error {
	if f.securePort == 0 {
		return run(ctx)
	}
	srv, err := componentserver.New(componentserver.Config{
		Name: name, Address: net.JoinHostPort(f.bindAddress, strconv.Itoa(f.securePort)),
		RESTConfig: rc, Gatherer: reg, Ready: ready, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		if err := run(gctx); err != nil {
			return err
		}
		// The component ended cleanly: stop serving too.
		return errComponentDone
	})
	if err := g.Wait(); !errors.Is(err, errComponentDone) {
		return err
	}
	return nil
}

// errComponentDone stops the component server when its component ends
// without error.
var errComponentDone = errors.New("component done")
