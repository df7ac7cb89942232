package area

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// Store reads areas.
type Store struct{ db *db.DB }

// NewStore makes the store.
func NewStore(pool *db.DB) *Store { return &Store{db: pool} }

const columns = `code, level, coalesce(parent_code, ''), name, full_name, name_en, unit_type, path::text`

func scan(row db.Scanner) (Area, error) {
	var a Area
	err := row.Scan(&a.Code, &a.Level, &a.ParentCode, &a.Name, &a.FullName, &a.NameEN, &a.UnitType, &a.Path)
	return a, err
}

// Get is one area by code.
func (s *Store) Get(ctx context.Context, code string) (Area, error) {
	a, err := scan(s.db.Conn(ctx).Raw(`SELECT `+columns+` FROM areas WHERE code = ?`, code).Row())
	if errors.Is(err, sql.ErrNoRows) {
		return Area{}, errNotFound(code)
	}
	return a, db.MapError(err)
}

// List returns areas in code order after the given code; with a query, the
// best name matches first (no cursor then: the page is the answer).
func (s *Store) List(ctx context.Context, f Filter, after string, limit int) ([]Area, error) {
	q := s.db.Conn(ctx).Table("areas").Select(columns)
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
