// Package cli holds what the ansinh binaries share around cobra: running a
// command tree under the process's signals, and loading the configuration
// named by --config or ANSINH_CONFIG once a command runs.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ansinh/ansinh/internal/config"
)

// Execute runs root with a context that SIGINT and SIGTERM cancel, and
// returns the exit code: 0, or 1 after printing the error as "name: error".
func Execute(name string, root *cobra.Command, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root.SilenceUsage = true
	root.SilenceErrors = true
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// Loader loads the configuration: the shipped defaults, the YAML file named by
// --config (or ANSINH_CONFIG), then the environment.
type Loader func() (*config.Config, error)

// ConfigFlag adds the persistent --config flag to root and returns the loader
// that reads it when a command runs (flags are parsed by then).
func ConfigFlag(root *cobra.Command) Loader {
	var file string
	root.PersistentFlags().StringVar(&file, "config", "", "YAML file over the shipped defaults (or ANSINH_CONFIG)")
	return func() (*config.Config, error) {
		name := file
		if name == "" {
			name = os.Getenv("ANSINH_CONFIG")
		}
		return config.Load(config.Source{File: name})
	}
}

// RunE adapts a command body that needs the configuration to cobra's RunE,
// loading the configuration first.
func (load Loader) RunE(run func(cmd *cobra.Command, args []string, cfg *config.Config) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		return run(cmd, args, cfg)
	}
}
