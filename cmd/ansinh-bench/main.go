// Command ansinh-bench is the load harness: it serves the API in its own
// process on a loopback port and drives it over HTTP (ansinh-bench), or loads
// a synthetic province (ansinh-bench load). It is a command of its own so
// that the production binary never links the harness.
package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/bench"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/cli"
)

func main() {
	os.Exit(cli.Execute("ansinh-bench", rootCmd(), os.Stderr))
}

func rootCmd() *cobra.Command {
	var o bench.Options
	cmd := &cobra.Command{
		Use:   "ansinh-bench",
		Short: "Serve the API on a loopback port of this process, drive it with the load generator and print the figures (development only)",
		Args:  cobra.NoArgs,
	}
	loadCfg := cli.ConfigFlag(cmd)
	cmd.RunE = loadCfg.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
		return bench.RunServer(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), o, c.OutOrStdout())
	})
	cmd.Flags().IntVar(&o.Concurrency, "concurrency", 8, "clients at once")
	cmd.Flags().DurationVar(&o.Duration, "duration", 10*time.Second, "time per scenario")
	cmd.Flags().IntVar(&o.MaxRequests, "max-requests", 0, "requests per scenario at most (0: no bound)")
	cmd.Flags().IntVar(&o.Fixture, "fixture", 20, "households each bench user registers before the run")
	cmd.Flags().StringVar(&o.Report, "report", "", "also write the figures to this markdown file")
	cmd.Flags().BoolVar(&o.Baseline, "baseline", true, "also run pgbench with the SQL the API issues (register, reads, search, lists, sync)")
	cmd.Flags().StringVar(&o.ScriptDir, "scripts", "", "write the baseline's pgbench scripts (the captured SQL) to this directory")
	cmd.Flags().StringVar(&o.Only, "only", "", "run only the scenarios whose names contain one of these comma-separated words")
	cmd.Flags().IntVar(&o.Proposals, "proposals", 150, "enrollments each bench user proposes for the approval scenario")
	cmd.Flags().IntVar(&o.RecallSample, "recall-sample", 1000, "people the duplicate scan's recall is measured on after registrations (0: not measured)")
	cmd.Flags().StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile (pprof) of the server under load")
	cmd.Flags().StringVar(&o.RateLimit, "ratelimit", "charge",
		"the rate limiter in the run: charge (every request, quotas no run reaches), off, or config (as configured)")
	cmd.Flags().StringVar(&o.MemProfile, "memprofile", "", "write an allocation profile (pprof)")
	cmd.Flags().StringVar(&o.Server, "server", "",
		"the ansinh binary: serve the API as a process of its own (its memory reported apart, its profiles written by it)")
	var households int
	var seed uint64
	load := &cobra.Command{
		Use:   "load",
		Short: "Load a synthetic province by COPY (households, members with CCCDs, audit history) and report the load rate",
		Args:  cobra.NoArgs,
		RunE: loadCfg.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return bench.RunLoad(c.Context(), cfg, households, seed, c.OutOrStdout())
		}),
	}
	load.Flags().IntVar(&households, "households", 500_000, "how many households (a province: 500000; a scale run: up to 5000000)")
	load.Flags().Uint64Var(&seed, "seed", 1, "the generator's seed (the same seed, the same people)")
	cmd.AddCommand(load)
	var ro bench.ReorgOptions
	reorganize := &cobra.Command{
		Use: "reorganize",
		Short: "Reorganize the loaded province to the two-tier units through the API while clients register and edit households; " +
			"report the time, the writes' latencies and the longest lock wait (destroys the bench data's old units)",
		Args: cobra.NoArgs,
		RunE: loadCfg.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return bench.RunReorganize(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), ro, c.OutOrStdout())
		}),
	}
	reorganize.Flags().IntVar(&ro.Concurrency, "concurrency", 8, "clients registering households meanwhile")
	reorganize.Flags().StringVar(&ro.Report, "report", "", "also write the figures to this markdown file")
	reorganize.Flags().DurationVar(&ro.Timeout, "timeout", 60*time.Minute, "stop measuring after this long (the report says how far the run got)")
	reorganize.Flags().DurationVar(&ro.LoadFor, "load-for", 0, "run the registrations and edits for this long only (0: the whole run); the run then goes on alone")
	cmd.AddCommand(reorganize)
	return cmd
}
