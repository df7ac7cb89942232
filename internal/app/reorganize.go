package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/reorganize"
)

// ReorganizeOptions are `ansinh areas reorganize`'s flags.
type ReorganizeOptions struct {
	To, Mapping, Villages, Bindings, PlanJSON string
	DryRun                                    bool
	BatchSize                                 int
}

// RunReorganize plans (and, without DryRun, applies or resumes) a
// reorganization as the system actor "reorganize-cli", printing the plan's
// summary and problems on out and progress on errOut.
func RunReorganize(ctx context.Context, cfg *config.Config, log *slog.Logger, ro ReorganizeOptions, out, errOut io.Writer) error {
	o := reorganize.Options{To: ro.To, BatchSize: ro.BatchSize}
	var err error
	if o.Mapping, err = readInput(ro.Mapping, area.ReadMapping); err != nil {
		return err
	}
	if o.Villages, err = readInput(ro.Villages, reorganize.ReadVillages); err != nil {
		return err
	}
	if o.Decisions, err = readInput(ro.Bindings, reorganize.ReadDecisions); err != nil {
		return err
	}
	a, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx = access.WithActor(db.WithKind(ctx, db.Job), access.System("reorganize-cli"))
	if ro.DryRun {
		plan, err := a.reorganizations.DryRun(ctx, o)
		if err != nil {
			return err
		}
		return reportPlan(plan, ro.PlanJSON, out)
	}
	start := time.Now()
	o.Progress = func(p reorganize.Progress) {
		fmt.Fprintf(errOut, "\r%d batches, %d households moved, %d to go, %d awaiting a decision   ", p.Batches, p.Moved, p.Pending, p.Queued)
	}
	st, err := a.reorganizations.Apply(ctx, o)
	fmt.Fprintln(errOut)
	if plan, blocked := reorganize.Blocked(err); blocked {
		_ = reportPlan(plan, ro.PlanJSON, out)
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "reorganization %s (%s → %s): %s; %d households, %d moved, %d awaiting a decision, in %s\n",
		st.ID, st.From, st.To, st.State, st.Households, st.Moved, st.Queued, time.Since(start).Round(time.Millisecond))
	return nil
}

func readInput[T any](name string, read func(io.Reader) ([]T, error)) ([]T, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

// reportPlan prints a plan's summary, its bindings and what blocks it.
func reportPlan(p reorganize.Plan, jsonFile string, out io.Writer) error {
	divided, placed := 0, 0
	for _, c := range p.Communes {
		if c.Divided {
			divided++
			placed += c.Households - c.Queued
		}
	}
	fmt.Fprintf(out, "plan %s → %s (mapping %s%s)\n", p.From, p.To, p.MappingSHA256[:12], map[bool]string{true: ", replaces the loaded one"}[p.MappingReplaced])
	fmt.Fprintf(out, "  %d households, %d members, %d attachments, %d live enrollments in %d communes\n",
		p.Households, p.Members, p.Attachments, p.Enrollments, len(p.Communes))
	fmt.Fprintf(out, "  %d divided communes: %d households placed by village, %d to be decided by their successors' workers\n",
		divided, placed, p.Queued)
	for _, b := range p.Bindings {
		action := b.Action
		if action == reorganize.Rebind {
			action += " to " + b.ToCode
		}
		if action == "" {
			action = "UNDECIDED"
		}
		fmt.Fprintf(out, "  %s %s (%s at %s %s): %s [%s]\n", b.Kind, b.Ref, b.Label, b.FromLevel, b.FromCode, action, b.Source)
	}
	for _, b := range p.Blockers {
		fmt.Fprintf(out, "  blocked: %s\n", b)
	}
	if jsonFile == "" {
		return nil
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(jsonFile, data, 0o600)
}

// RunLoadDesignations loads a list of commune designations from a CSV file,
// as the system actor "designations-cli".
func RunLoadDesignations(ctx context.Context, cfg *config.Config, log *slog.Logger, path string, illustrative bool, out io.Writer) error {
	list, err := readInput(path, area.ReadDesignations)
	if err != nil {
		return err
	}
	a, err := Open(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx = access.WithActor(ctx, access.System("designations-cli"))
	n, err := area.NewStore(a.db).LoadDesignations(ctx, list, illustrative, "file:"+filepath.Base(path))
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "designations: %d loaded from %s\n", n, path)
	return nil
}
