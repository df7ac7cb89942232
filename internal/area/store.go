package area

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// Store reads areas.
type Store struct{ db *db.DB }

// NewStore makes the store.
func NewStore(pool *db.DB) *Store { return &Store{db: pool} }

const columns = `edition, code, level, coalesce(parent_code, ''), name, full_name, name_en, unit_type, path::text`

func scan(row db.Scanner) (Area, error) {
	var a Area
	err := row.Scan(&a.Edition, &a.Code, &a.Level, &a.ParentCode, &a.Name, &a.FullName, &a.NameEN, &a.UnitType, &a.Path)
	return a, err
}

// Get is one area by code in the edition in use: the unit a record that
// names this code is filed under.
func (s *Store) Get(ctx context.Context, code string) (Area, error) {
	return getOne(s.db.Conn(ctx).Raw(`SELECT `+columns+` FROM areas WHERE edition = area_edition_in_use() AND code = ?`, code), code)
}

// GetIn is one area by edition and code.
func (s *Store) GetIn(ctx context.Context, edition, code string) (Area, error) {
	return getOne(s.db.Conn(ctx).Raw(`SELECT `+columns+` FROM areas WHERE edition = ? AND code = ?`, edition, code), code)
}

func getOne(q *gorm.DB, code string) (Area, error) {
	a, err := scan(q.Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Area{}, errNotFound(code)
	}
	return a, db.MapError(err)
}

// List returns areas of f.Edition in code order after the given code; with
// a query, the best name matches first (no cursor then: the page is the
// answer).
func (s *Store) List(ctx context.Context, f Filter, after string, limit int) ([]Area, error) {
	q := s.db.Conn(ctx).Table("areas").Select(columns).Where("edition = ?", f.Edition)
	if f.Parent != "" {
		q = q.Where("parent_code = ?", f.Parent)
	}
	if f.Level != "" {
		q = q.Where("level = ?", f.Level)
	}
	if f.Query != "" {
		// Substring matches first (best whole-word similarity among them),
		// then near misses (typos, missing words).
		key := strings.TrimSpace(f.Query)
		q = q.Where("search_key LIKE '%' || f_search_key(?) || '%' OR f_search_key(?) <% search_key", key, key).
			Clauses(clause.OrderBy{Expression: clause.Expr{
				SQL:                "(search_key LIKE '%' || f_search_key(?) || '%') DESC, word_similarity(f_search_key(?), search_key) DESC, level DESC, code",
				Vars:               []any{key, key},
				WithoutParentheses: true,
			}})
	} else {
		if after != "" {
			q = q.Where("code > ?", after)
		}
		q = q.Order("code")
	}
	return db.Collect(q.Limit(limit), scan)
}

// Editions are the editions loaded, oldest first.
func (s *Store) Editions(ctx context.Context) ([]Edition, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`SELECT edition, units, valid_from, valid_to, in_use, source
		FROM area_editions ORDER BY valid_from`), func(row db.Scanner) (Edition, error) {
		var e Edition
		err := row.Scan(&e.Name, &e.Units, &e.ValidFrom, &e.ValidTo, &e.InUse, &e.Source)
		return e, err
	})
}

// Links are a unit's predecessors (units of earlier editions it came from)
// and successors (units of later editions it became), each in code order.
func (s *Store) Links(ctx context.Context, edition, code string) (predecessors, successors []Link, err error) {
	link := func(row db.Scanner) (Link, error) {
		var l Link
		err := row.Scan(&l.Edition, &l.Code, &l.Level, &l.ParentCode, &l.Name, &l.FullName, &l.NameEN, &l.UnitType, &l.Path, &l.Divided)
		return l, err
	}
	cols := `a.edition, a.code, a.level, coalesce(a.parent_code, ''), a.name, a.full_name, a.name_en, a.unit_type, a.path::text, s.divided`
	predecessors, err = db.Collect(s.db.Conn(ctx).Raw(`SELECT `+cols+` FROM area_successions s
		JOIN areas a ON a.edition = s.from_edition AND a.code = s.from_code
		WHERE s.to_edition = ? AND s.to_code = ? ORDER BY a.edition, a.code`, edition, code), link)
	if err != nil {
		return nil, nil, err
	}
	successors, err = db.Collect(s.db.Conn(ctx).Raw(`SELECT `+cols+` FROM area_successions s
		JOIN areas a ON a.edition = s.to_edition AND a.code = s.to_code
		WHERE s.from_edition = ? AND s.from_code = ? ORDER BY a.edition, a.code`, edition, code), link)
	return predecessors, successors, err
}
