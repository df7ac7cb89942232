// Command ansinh is the single binary of ansinh: the API server and its
// administrative commands. It parses the command line and calls internal/app.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/platform/cli"
)

func main() {
	os.Exit(cli.Execute("ansinh", rootCmd(), os.Stderr))
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ansinh",
		Short: "ansinh: poverty-reduction registry and support programs for Vietnam's social-welfare offices",
	}
	load := cli.ConfigFlag(root)

	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API (never migrates; run `migrate up` first)",
		Args:  cobra.NoArgs,
		RunE: load.RunE(func(cmd *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunServe(cmd.Context(), cfg, app.NewLogger(cfg, os.Stderr))
		}),
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
			RunE: load.RunE(func(cmd *cobra.Command, _ []string, cfg *config.Config) error {
				return app.RunMigrate(cmd.Context(), cfg, app.NewLogger(cfg, os.Stderr), action.name, cmd.OutOrStdout())
			}),
		})
	}
	root.AddCommand(migrate)

	seed := &cobra.Command{Use: "seed", Short: "Load data into the database"}
	demo := &cobra.Command{
		Use:   "demo",
		Short: "Load the demo province (development only)",
		Args:  cobra.NoArgs,
	}
	households := demo.Flags().Int("households", app.DemoHouseholds, "how many synthetic households the demo province gets")
	demo.RunE = load.RunE(func(cmd *cobra.Command, _ []string, cfg *config.Config) error {
		return app.RunSeedDemo(cmd.Context(), cfg, app.NewLogger(cfg, os.Stderr), *households, cmd.OutOrStdout())
	})
	seed.AddCommand(demo)
	root.AddCommand(seed)

	root.AddCommand(auditCmd(load))
	root.AddCommand(userCmd(load))
	root.AddCommand(importCmd(load))
	root.AddCommand(areasCmd(load))
	root.AddCommand(&cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server on this machine answers /healthz (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunHealthcheck(c.Context(), cfg)
		}),
	})

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

func auditCmd(load cli.Loader) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, seal and keep the audit trail"}
	var checkpoint string
	var noWitness bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute every sealed block; exit non-zero naming the first mismatch",
		Args:  cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunAuditVerify(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), checkpoint, noWitness, c.OutOrStdout())
		}),
	}
	verify.Flags().StringVar(&checkpoint, "checkpoint", "", "a file written by `ansinh audit checkpoint` that the log must still extend")
	verify.Flags().BoolVar(&noWitness, "no-witness", false, "do not check against the newest checkpoint published to the audit witness (when none is configured)")
	cmd.AddCommand(verify)
	cmd.AddCommand(&cobra.Command{
		Use:   "checkpoint",
		Short: "Print the newest signed block head, to keep off-site",
		Args:  cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunAuditCheckpoint(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), c.OutOrStdout())
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "seal",
		Short: "Seal pending events now (serve seals continuously)",
		Args:  cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunAuditSeal(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), c.OutOrStdout())
		}),
	})
	var months int
	partitions := &cobra.Command{
		Use:   "partitions",
		Short: "Create the audit tables' monthly partitions ahead (as the owner role)",
		Args:  cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunAuditPartitions(c.Context(), cfg, months, c.OutOrStdout())
		}),
	}
	partitions.Flags().IntVar(&months, "months", 12, "how many months ahead")
	cmd.AddCommand(partitions)
	cmd.AddCommand(&cobra.Command{
		Use:   "keygen",
		Short: "Print a new Ed25519 seal key",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return app.RunAuditKeygen(c.OutOrStdout()) },
	})
	return cmd
}

func userCmd(load cli.Loader) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage user accounts"}
	var username, fullName, role, area string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user with a role at an area (the first system_admin, say)",
		Long: "Create a user with a role at an area. The password comes from ANSINH_USER_PASSWORD;\n" +
			"without it one is generated, printed once, and must be changed at first sign-in.",
		Args: cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunUserCreate(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), username, fullName, role, area,
				os.Getenv("ANSINH_USER_PASSWORD"), c.OutOrStdout())
		}),
	}
	create.Flags().StringVar(&username, "username", "", "login name (a-z, 0-9, . _ -)")
	create.Flags().StringVar(&fullName, "full-name", "", "the person's name")
	create.Flags().StringVar(&role, "role", "", "commune_worker, district_approver, province_auditor, program_manager or system_admin")
	create.Flags().StringVar(&area, "area", "", "GSO code of the area the role applies to, e.g. 91")
	for _, f := range []string{"username", "role", "area"} {
		_ = create.MarkFlagRequired(f)
	}
	cmd.AddCommand(create)
	return cmd
}

func importCmd(load cli.Loader) *cobra.Command {
	cmd := &cobra.Command{Use: "import", Short: "Load records from files"}
	var mode, area string
	for _, what := range []string{importer.Households, importer.History} {
		short, long := "Import households with their members from a CSV or XLSX file in the template's layout",
			"Import households with their members (one row per person; the template is GET /api/v1/imports/template.xlsx).\n"
		if what == importer.History {
			short, long = "Import the recognized lists of past years (poor, near-poor, out of poverty) from a CSV or XLSX file",
				"Import past years' recognized lists (one row per household and year, in year order; the template is\n"+
					"GET /api/v1/imports/template.xlsx?kind=history). The commune is in the units of the decision's date;\n"+
					"households not registered are created from the head's columns. Years recorded alike are skipped.\n"
		}
		c := &cobra.Command{
			Use:   what + " FILE",
			Short: short,
			Long: long + "--mode dry_run checks and writes nothing; all_or_nothing writes everything or nothing; valid_only writes the\n" +
				"valid households and reports the rest. What is already there is skipped, so a file can be run again.\n" +
				"Problems go to standard output; progress to standard error.",
			Args: cobra.ExactArgs(1),
			RunE: load.RunE(func(c *cobra.Command, args []string, cfg *config.Config) error {
				return app.RunImport(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), what, args[0], mode, area, c.OutOrStdout(), c.ErrOrStderr())
			}),
		}
		c.Flags().StringVar(&mode, "mode", "dry_run", "dry_run, all_or_nothing or valid_only")
		c.Flags().StringVar(&area, "area", "", "limit the import to this area's households (GSO code); empty: anywhere")
		cmd.AddCommand(c)
	}
	return cmd
}

func areasCmd(load cli.Loader) *cobra.Command {
	cmd := &cobra.Command{Use: "areas", Short: "Administrative units and their reorganizations"}
	var o app.ReorganizeOptions
	reorganize := &cobra.Command{
		Use:   "reorganize",
		Short: "Move the registry to another edition of the units (the 2025 reform: --to 2026-04)",
		Long: "Move the registry from the edition in use to --to: households with their members, attachments and live\n" +
			"enrollments, and the assignments, budgets, targets, local standards, programs and campaigns in force.\n" +
			"Records of the past keep their units. A plan comes first (--dry-run prints it and writes nothing); a run\n" +
			"refuses to start while anything in the plan must be decided: --villages places the households of divided\n" +
			"communes (CSV: old_commune_code,village,new_commune_code; the rest wait for their successor's worker), and\n" +
			"--bindings re-binds what was bound to districts or divided communes (CSV: kind,ref,action,to_code).\n" +
			"--mapping loads a corrected mapping (the layout of internal/area/data/vn-commune-mapping-2025.csv).\n" +
			"A run killed at any point resumes when run again.",
		Args: cobra.NoArgs,
		RunE: load.RunE(func(c *cobra.Command, _ []string, cfg *config.Config) error {
			return app.RunReorganize(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), o, c.OutOrStdout(), c.ErrOrStderr())
		}),
	}
	f := reorganize.Flags()
	f.StringVar(&o.To, "to", "", "the edition to move to (see GET /api/v1/area-editions)")
	f.StringVar(&o.Mapping, "mapping", "", "a corrected mapping (CSV); default: the successions loaded")
	f.StringVar(&o.Villages, "villages", "", "village table for divided communes (CSV)")
	f.StringVar(&o.Bindings, "bindings", "", "decisions for bindings the mapping cannot settle (CSV)")
	f.StringVar(&o.PlanJSON, "plan-json", "", "write the whole plan as JSON to this file")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the plan and write nothing")
	f.IntVar(&o.BatchSize, "batch", 200, "households a transaction")
	_ = reorganize.MarkFlagRequired("to")
	cmd.AddCommand(reorganize)
	var illustrative bool
	designations := &cobra.Command{
		Use:   "designations FILE",
		Short: "Load a list of commune designations (CSV: kind,zone,area_edition,area_code,village,valid_from,valid_to,decision_number,decision_date,issuer)",
		Long: "Load designations by decision: coastal_extremely_difficult, ethnic_mountainous_zone (zone I, II or III),\n" +
			"extremely_difficult_hamlet (a village of a commune), border_commune, poor_district (a district of 2025-03).\n" +
			"The list is refused whole, with every problem, if a unit is unknown in its edition, a kind and level disagree\n" +
			"or two periods of one unit overlap; a designation of the same kind, unit and start is replaced.",
		Args: cobra.ExactArgs(1),
		RunE: load.RunE(func(c *cobra.Command, args []string, cfg *config.Config) error {
			return app.RunLoadDesignations(c.Context(), cfg, app.NewLogger(cfg, os.Stderr), args[0], illustrative, c.OutOrStdout())
		}),
	}
	designations.Flags().BoolVar(&illustrative, "illustrative", false, "mark the list as illustrative (not a real decision)")
	cmd.AddCommand(designations)
	return cmd
}
