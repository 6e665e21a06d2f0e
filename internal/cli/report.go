package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"kplane/internal/perftest/report"
)

// errRegression makes `kplane report compare` exit non-zero, for CI.
var errRegression = errors.New("performance regression")

func newReportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Work with the results of kplane test",
	}
	tol := report.DefaultTolerances()
	var floor time.Duration = time.Duration(tol.LatencyFloor * float64(time.Second))
	compare := &cobra.Command{
		Use:   "compare A.json B.json",
		Short: "Compare two runs side by side; exit 1 when B regressed beyond the tolerances",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := report.ReadFile(args[0])
			if err != nil {
				return err
			}
			b, err := report.ReadFile(args[1])
			if err != nil {
				return err
			}
			tol.LatencyFloor = floor.Seconds()
			c, err := report.Compare(a, b, tol)
			if err != nil {
				return err
			}
			if err := report.WriteComparison(cmd.OutOrStdout(), c, args[0], args[1]); err != nil {
				return err
			}
			if c.Regressed {
				cmd.SilenceErrors = true
				return errRegression
			}
			return nil
		},
	}
	fl := compare.Flags()
	fl.Float64Var(&tol.Latency, "latency-tolerance", tol.Latency, "allowed relative increase of a latency (0.25 = +25%)")
	fl.DurationVar(&floor, "latency-floor", floor, "latency increases smaller than this are noise, whatever the ratio")
	fl.Float64Var(&tol.Throughput, "throughput-tolerance", tol.Throughput, "allowed relative decrease of pods/s")
	fl.Float64Var(&tol.Memory, "memory-tolerance", tol.Memory, "allowed relative increase of peak RSS")
	fl.Int64Var(&tol.MinCount, "min-count", tol.MinCount, "ignore API endpoints with fewer calls than this in either run")

	var outDir string
	render := &cobra.Command{
		Use:   "render RESULT.json",
		Short: "Write report.html again from a result.json and print its summary (e.g. after upgrading kplane)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := report.ReadFile(args[0])
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = filepath.Dir(args[0])
			}
			h, err := os.Create(filepath.Join(outDir, "report.html"))
			if err != nil {
				return err
			}
			if err := report.WriteHTML(h, r); err != nil {
				h.Close()
				return err
			}
			if err := h.Close(); err != nil {
				return err
			}
			if err := report.WriteText(cmd.OutOrStdout(), r); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nreport: %s\n", filepath.Join(outDir, "report.html"))
			return nil
		},
	}
	render.Flags().StringVar(&outDir, "out-dir", "", "where to write report.html; default next to RESULT.json")
	cmd.AddCommand(compare, render)
	return cmd
}
