package db

import (
	"fmt"

	"gorm.io/gorm"
)

// Scanner is a row being read (*sql.Row and *sql.Rows both are).
type Scanner interface{ Scan(dest ...any) error }

// Collect runs q and scans every row with scan, closing the rows and
// returning the first error (the query's, a scan's, or the iteration's).
func Collect[T any](q *gorm.DB, scan func(Scanner) (T, error)) ([]T, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, MapError(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, MapError(err)
	}
	return out, nil
}

// Each runs q and calls fn for every row, for readers that fold rows into a
// map or a running total rather than a slice.
func Each(q *gorm.DB, fn func(Scanner) error) error {
	rows, err := q.Rows()
	if err != nil {
		return MapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return MapError(rows.Err())
}
