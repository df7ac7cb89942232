// Command ansinh is the single binary of ansinh: the API server and its
// administrative commands. It parses the command line and calls internal/app.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ansinh:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	var configFile string
	load := func() (*config.Config, error) {
		if configFile == "" {
			configFile = os.Getenv("ANSINH_CONFIG")
		}
		return config.Load(config.Source{File: configFile})
	}
	root := &cobra.Command{
		Use:           "ansinh",
		Short:         "ansinh: poverty-reduction registry and support programs for Vietnam's social-welfare offices",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&configFile, "config", "", "YAML file over the shipped defaults (or ANSINH_CONFIG)")

	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (never migrates; run `migrate up` first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return app.RunServe(cmd.Context(), cfg, app.NewLogger(cfg, os.Stderr))
		},
	})

	migrate := &cobra.Command{Use: "migrate", Short: "Manage the database schema (as the owner role)"}
	for _, action := range []struct{ name, short string }{
		{"up", "Apply every pending migration"},
		{"down", "Roll back the newest migration"},
		{"status", "List migrations and whether each is applied"},
	} {
		migrate.AddCommand(&cobra.Command{
			Use:   action.name,
			Short: action.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, err := load()
				if err != nil {
					return err
				}
				return app.RunMigrate(cmd.Context(), cfg, app.NewLogger(cfg, os.Stderr), action.name, cmd.OutOrStdout())
			},
		})
	}
	root.AddCommand(migrate)

	seed := &cobra.Command{Use: "seed", Short: "Load data into the database"}
	seed.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "Load the demo province (development only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return app.RunSeedDemo(cmd.Context(), cfg, app.NewLogger(cfg, os.Stderr), cmd.OutOrStdout())
		},
	})
	root.AddCommand(seed)

	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "ansinh", app.VersionString())
		},
	})
	return root
}
