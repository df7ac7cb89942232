package program

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/area"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds every SQL statement of the package: the catalogue (programs,
// campaigns, budgets) here, enrollments and deliveries in store_enrollment.go.
type store struct{ db *db.DB }

const programColumns = `code, name_vi, name_en, legal_basis, kind, level, coalesce(area_code, ''), coalesce(area_edition, ''),
	coalesce(area_path::text, ''),
	rule, params, amount, funding::text, status, version, updated_at`

func scanProgram(row db.Scanner) (Program, error) {
	var p Program
	var rule, params []byte
	var funding string
	if err := row.Scan(&p.Code, &p.NameVI, &p.NameEN, &p.LegalBasis, &p.Kind, &p.Level, &p.AreaCode, &p.AreaEdition, &p.AreaPath, &rule, &params,
		&p.Amount, &funding, &p.Status, &p.Version, &p.UpdatedAt); err != nil {
		return p, err
	}
	if err := json.Unmarshal(rule, &p.Rule); err != nil {
		return p, fmt.Errorf("program %s rule: %w", p.Code, err)
	}
	if err := json.Unmarshal(params, &p.Params); err != nil {
		return p, fmt.Errorf("program %s params: %w", p.Code, err)
	}
	p.Funding = parseTextArray(funding)
	return p, nil
}

// parseTextArray reads a text[] of simple codes as PostgreSQL prints it
// (funding codes are validated: never quoted).
func parseTextArray(s string) []string {
	s = strings.Trim(s, "{}")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func (s store) programs(ctx context.Context) ([]Program, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT `+programColumns+` FROM programs ORDER BY code`), scanProgram)
}

func (s store) program(ctx context.Context, code string, lock bool) (Program, error) {
	q := `SELECT ` + programColumns + ` FROM programs WHERE code = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	p, err := scanProgram(s.db.Conn(ctx).Raw(q, code).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Program{}, errProgramNotFound
	}
	return p, err
}

func (s store) insertProgram(ctx context.Context, p Program) error {
	rule, params, err := programJSON(p)
	if err != nil {
		return err
	}
	actor := access.ActorID(ctx)
	return s.db.Conn(ctx).Exec(`INSERT INTO programs (code, name_vi, name_en, legal_basis, kind, level, area_code, area_edition, area_path,
			rule, params, amount, funding, status, created_by, updated_by)
			VALUES (?, ?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), NULLIF(?, '')::ltree, ?, ?, ?, ?::text[], ?, ?, ?)`,
		p.Code, p.NameVI, p.NameEN, p.LegalBasis, p.Kind, p.Level, p.AreaCode, p.AreaEdition, p.AreaPath, rule, params, p.Amount,
		db.TextArray(p.Funding), p.Status, actor, actor).Error
}

func programJSON(p Program) (rule, params string, err error) {
	r, err := json.Marshal(p.Rule)
	if err != nil {
		return "", "", err
	}
	ps, err := json.Marshal(p.Params)
	if err != nil {
		return "", "", err
	}
	return string(r), string(ps), nil
}

// updateProgram is the read-modify-write of a program: it locks the row, lets
// allowed refuse it (a national program, one outside the caller's scope),
// checks the version, applies the change and writes it. It returns the
// program before and after (its version advanced).
func (s store) updateProgram(ctx context.Context, code string, version int, allowed func(Program) error,
	apply func(*Program) error) (before, after Program, err error) {
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if before, err = s.program(ctx, code, true); err != nil {
			return err
		}
		if err := allowed(before); err != nil {
			return err
		}
		if before.Version != version {
			return stale("program", version, before.Version, "")
		}
		after = before
		if err := apply(&after); err != nil {
			return err
		}
		rule, params, err := programJSON(after)
		if err != nil {
			return err
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE programs SET name_vi = ?, name_en = ?, legal_basis = ?, rule = ?, params = ?, amount = ?,
		funding = ?::text[], status = ?, version = version + 1, updated_by = ?, updated_at = now() WHERE code = ?`,
			after.NameVI, after.NameEN, after.LegalBasis, rule, params, after.Amount, db.TextArray(after.Funding), after.Status,
			access.ActorID(ctx), code).Error; err != nil {
			return err
		}
		after.Version++
		return nil
	})
	return before, after, err
}

const campaignColumns = `id, program_code, name, area_code, area_edition, area_path::text, starts_on, ends_on, package_amount, version`

func scanCampaign(row db.Scanner) (Campaign, error) {
	var c Campaign
	err := row.Scan(&c.ID, &c.ProgramCode, &c.Name, &c.AreaCode, &c.AreaEdition, &c.AreaPath, &c.StartsOn, &c.EndsOn, &c.PackageAmount, &c.Version)
	return c, err
}

func (s store) campaigns(ctx context.Context, code string) ([]Campaign, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT `+campaignColumns+` FROM program_campaigns WHERE program_code = ? ORDER BY starts_on, id`,
		code), scanCampaign)
}

// campaign reads a program's campaign and locks it.
func (s store) campaign(ctx context.Context, code string, id uuid.UUID) (Campaign, error) {
	c, err := scanCampaign(s.db.Conn(ctx).Raw(`SELECT `+campaignColumns+` FROM program_campaigns WHERE program_code = ? AND id = ?
		FOR UPDATE`, code, id).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Campaign{}, errCampaignNotFound
	}
	return c, err
}

func (s store) insertCampaign(ctx context.Context, c Campaign) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO program_campaigns (id, program_code, name, area_code, area_edition, area_path, starts_on, ends_on,
			package_amount, created_by) VALUES (?, ?, ?, ?, ?, ?::ltree, ?, ?, ?, ?)`, c.ID, c.ProgramCode, c.Name, c.AreaCode, c.AreaEdition, c.AreaPath,
		c.StartsOn, c.EndsOn, c.PackageAmount, access.ActorID(ctx)).Error
}

// updateCampaign is the read-modify-write of a campaign, as updateProgram.
func (s store) updateCampaign(ctx context.Context, code string, id uuid.UUID, version int, allowed func(Campaign) error,
	apply func(*Campaign) error) (before, after Campaign, err error) {
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		if before, err = s.campaign(ctx, code, id); err != nil {
			return err
		}
		if err := allowed(before); err != nil {
			return err
		}
		if before.Version != version {
			return stale("campaign", version, before.Version, "")
		}
		after = before
		if err := apply(&after); err != nil {
			return err
		}
		if err := s.db.Conn(ctx).Exec(`UPDATE program_campaigns SET name = ?, ends_on = ?, package_amount = ?, version = version + 1,
			updated_by = ?, updated_at = now() WHERE id = ?`, after.Name, after.EndsOn, after.PackageAmount, access.ActorID(ctx), id).Error; err != nil {
			return err
		}
		after.Version++
		return nil
	})
	return before, after, err
}

// budgets are the budgets of a program in a year (or every year: 0), in
// scope, with what approved enrollments committed in each.
func (s store) budgets(ctx context.Context, scope access.Scope, code string, year int) ([]Budget, error) {
	q := scope.Filter(s.db.Conn(ctx).Table("program_budgets b"), "b.area_path").
		Select(`b.program_code, b.area_code, b.area_edition, b.area_path::text, b.year, b.amount, b.version,
			(SELECT coalesce(sum(e.amount), 0) FROM enrollments e WHERE e.program_code = b.program_code
			 AND e.area_path <@ b.area_path AND e.state IN ('approved', 'ended') AND extract(year FROM e.starts_on) = b.year)`).
		Where("b.program_code = ?", code)
	if year != 0 {
		q = q.Where("b.year = ?", year)
	}
	return db.Collect(q.Order("b.year, b.area_path"), func(row db.Scanner) (Budget, error) {
		var b Budget
		err := row.Scan(&b.ProgramCode, &b.AreaCode, &b.AreaEdition, &b.AreaPath, &b.Year, &b.Amount, &b.Version, &b.Committed)
		return b, err
	})
}

// lockBudget reads and locks a budget's amount and version; both nil when
// there is none yet.
func (s store) lockBudget(ctx context.Context, code string, a area.Area, year int) (amount *int64, version *int, err error) {
	var current struct {
		Amount  *int64
		Version *int
	}
	err = s.db.Conn(ctx).Raw(`SELECT amount, version FROM program_budgets
		WHERE program_code = ? AND area_edition = ? AND area_code = ? AND year = ? FOR UPDATE`,
		code, a.Edition, a.Code, year).Scan(&current).Error
	return current.Amount, current.Version, err
}

// putBudget sets a budget, a new one at version 1, an existing one a version on.
func (s store) putBudget(ctx context.Context, code string, a area.Area, year int, amount int64) error {
	return s.db.Conn(ctx).Exec(`INSERT INTO program_budgets (program_code, area_edition, area_code, area_path, year, amount, updated_by)
			VALUES (?, ?, ?, ?::ltree, ?, ?, ?) ON CONFLICT (program_code, area_edition, area_code, year)
			DO UPDATE SET amount = excluded.amount, version = program_budgets.version + 1, updated_by = excluded.updated_by,
			updated_at = now()`, code, a.Edition, a.Code, a.Path, year, amount, access.ActorID(ctx)).Error
}

// coveringBudget is a budget of a program that covers an area, and what its
// area's approved enrollments committed of it in its year.
type coveringBudget struct {
	AreaCode  string
	AreaPath  string
	Amount    int64
	Committed int64
}

// lockCoveringBudgets locks the program's budgets for a year whose areas hold
// path (approvals against the same budget queue here), then sums what each
// has committed.
func (s store) lockCoveringBudgets(ctx context.Context, code string, year int, path string) ([]coveringBudget, error) {
	conn := s.db.Conn(ctx)
	var out []coveringBudget
	if err := conn.Raw(`SELECT area_code, area_path::text AS area_path, amount FROM program_budgets WHERE program_code = ? AND year = ? AND ?::ltree <@ area_path
			ORDER BY area_code FOR UPDATE`, code, year, path).Scan(&out).Error; err != nil {
		return nil, err
	}
	for i, b := range out {
		if err := conn.Raw(`SELECT coalesce(sum(amount), 0) FROM enrollments WHERE program_code = ? AND state IN ('approved', 'ended')
				AND extract(year FROM starts_on) = ? AND area_path <@ ?::ltree`,
			code, year, b.AreaPath).Scan(&out[i].Committed).Error; err != nil {
			return nil, err
		}
	}
	return out, nil
}
