package cli

import (
	"context"
	"fmt"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"kplane/internal/controllers/manager"
	"kplane/internal/controlplane"
)

// serverFlags are the flags `up` and `apiserver` share.
type serverFlags struct {
	dataDir, bindAddress, tokenAuthFile   string
	port                                  int
	etcdServers                           []string
	etcdCAFile, etcdCertFile, etcdKeyFile string
	extraSANs                             []string
	updateManagedFields                   bool
	watchCache                            bool
	watchWriteTimeout                     time.Duration
}

func (f *serverFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir(), "directory for certificates, etcd data and the kubeconfig (env KPLANE_DATA_DIR)")
	fl.StringVar(&f.bindAddress, "bind-address", "127.0.0.1", "address the API server listens on (env KPLANE_BIND_ADDRESS)")
	fl.IntVar(&f.port, "port", 6443, "HTTPS port of the API server; 0 picks a free port (env KPLANE_PORT)")
	fl.StringSliceVar(&f.etcdServers, "etcd-servers", nil, "external etcd endpoints; empty runs embedded etcd (env KPLANE_ETCD_SERVERS)")
	fl.StringVar(&f.etcdCAFile, "etcd-cafile", "", "CA file for external etcd TLS")
	fl.StringVar(&f.etcdCertFile, "etcd-certfile", "", "client certificate for external etcd TLS")
	fl.StringVar(&f.etcdKeyFile, "etcd-keyfile", "", "client key for external etcd TLS")
	fl.StringVar(&f.tokenAuthFile, "token-auth-file", "", "static bearer tokens: CSV of token,user,uid,\"group1,group2\"")
	fl.StringSliceVar(&f.extraSANs, "tls-san", nil, "extra DNS names or IPs for the serving certificate")
	fl.BoolVar(&f.watchCache, "watch-cache", true, "serve lists and watches from an in-memory watch cache per resource; false sends every list and watch to etcd (env KPLANE_WATCH_CACHE)")
	fl.DurationVar(&f.watchWriteTimeout, "watch-write-timeout", 30*time.Second, "end a watch whose client takes no bytes for this long (stopped reading); also closes HTTP/2 connections stuck as long; negative disables")
	fl.BoolVar(&f.updateManagedFields, "update-managed-fields", true, "record metadata.managedFields for non-apply writes, as upstream; false trades that bookkeeping for throughput")
}

func (f *serverFlags) config(cmd *cobra.Command) controlplane.Config {
	return controlplane.Config{
		DataDir: f.dataDir, BindAddress: f.bindAddress, Port: f.port,
		EtcdServers: f.etcdServers, EtcdCAFile: f.etcdCAFile, EtcdCertFile: f.etcdCertFile, EtcdKeyFile: f.etcdKeyFile,
		TokenAuthFile: f.tokenAuthFile, ExtraSANs: f.extraSANs, Logger: newLogger(cmd),
		DisableUpdateManagedFields: !f.updateManagedFields,
		DisableWatchCache:          !f.watchCache,
		WatchWriteTimeout:          f.watchWriteTimeout,
	}
}

func newUpCommand() *cobra.Command {
	var (
		f    serverFlags
		mf   managerFlags
		sf   schedulerFlags
		runC bool
		runS bool
		hf   hollowFlags
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run etcd, the API server and the controllers in one process and write an admin kubeconfig",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var extra []component
			if runC {
				extra = append(extra, controllerManagerComponent(cmd, &mf))
			}
			if runS {
				extra = append(extra, schedulerComponent(cmd, &sf, &mf))
			}
			if hf.count > 0 {
				extra = append(extra, hollowNodesComponent(cmd, &hf))
			}
			return runControlPlane(cmd, f.config(cmd), extra...)
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&runC, "controller-manager", true, "run the controller manager in this process")
	mf.bind(cmd.Flags(), false)
	cmd.Flags().BoolVar(&runS, "scheduler", true, "run the scheduler in this process")
	sf.bind(cmd.Flags(), false)
	hf.bind(cmd.Flags(), false)
	return cmd
}

// component is something `up` runs beside the API server, talking to it
// only through the API.
type component struct {
	name string
	run  func(ctx context.Context, cp *controlplane.ControlPlane) error
}

func controllerManagerComponent(cmd *cobra.Command, mf *managerFlags) component {
	return component{name: "controller-manager", run: func(ctx context.Context, cp *controlplane.ControlPlane) error {
		rc, err := clientcmd.BuildConfigFromFlags("", cp.ControllerManagerKubeconfig())
		if err != nil {
			return fmt.Errorf("controller manager kubeconfig: %w", err)
		}
		cfg := mf.config(cmd)
		cfg.RESTConfig = rc
		// One process, one /metrics: the API server's endpoint also shows
		// the controllers' work queues and sync metrics.
		cfg.Metrics = cp.Metrics()
		m, err := manager.New(cfg)
		if err != nil {
			return err
		}
		return m.Run(ctx)
	}}
}

// runControlPlane starts a control plane and the extra components and
// serves until SIGINT/SIGTERM.
func runControlPlane(cmd *cobra.Command, cfg controlplane.Config, extra ...component) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	cp, err := controlplane.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "kplane is ready at %s (started in %s)\n", cp.URL(), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "kubeconfig: %s\n", cp.Kubeconfig)
	fmt.Fprintf(out, "try: kubectl --kubeconfig %s get namespaces\n", cp.Kubeconfig)
	compCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	failed := make(chan error, len(extra))
	for _, c := range extra {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.run(compCtx, cp); err != nil && compCtx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", c.name, err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
		cfg.Logger.Info("shutting down")
	case err := <-cp.Done():
		runErr = fmt.Errorf("API server stopped: %w", err)
	case err := <-failed:
		runErr = err
	}
	cancel()
	wg.Wait()
	if err := cp.Stop(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
