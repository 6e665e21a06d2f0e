package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// NewRoot builds the kplane command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "kplane",
		Short:         "A Kubernetes-compatible control plane in one binary",
		SilenceUsage:  true,
		SilenceErrors: false,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newUpCommand(), newAPIServerCommand(), newControllerManagerCommand(), newSchedulerCommand(), newNodesCommand(), newTestCommand(), newReportCommand(), newVersionCommand())
	return root
}

// applyEnv sets every flag the user did not pass from its KPLANE_* twin
// (--data-dir ↔ KPLANE_DATA_DIR).
func applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "KPLANE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

// newLogger builds the process logger from --log-level.
func newLogger(cmd *cobra.Command) *slog.Logger {
	lvl := slog.LevelInfo
	if v, err := cmd.Flags().GetString("log-level"); err == nil {
		_ = lvl.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// defaultDataDir is $XDG_DATA_HOME/kplane, else ~/.local/share/kplane.
func defaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "kplane")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "kplane")
	}
	return "kplane-data"
}

// runStandalone runs a component alone against an API server: it loads
// the component's kubeconfig and runs until SIGINT/SIGTERM.
func runStandalone(kubeconfig string, run func(ctx context.Context, rc *rest.Config) error) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return run(ctx, rc)
}
