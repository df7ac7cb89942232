package db

import (
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// arrayLiteral renders xs as one PostgreSQL array literal, each element
// written by put. GORM spreads a slice into `IN ($1, …, $n)`: a statement of
// its own for every length, each planned again, where one array parameter
// keeps one prepared statement however many elements a call has.
func arrayLiteral[T any](xs []T, put func(*strings.Builder, T)) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		put(&b, x)
	}
	b.WriteByte('}')
	return b.String()
}

// UUIDArray renders ids as one array literal for `= ANY(?::uuid[])`.
func UUIDArray(ids []uuid.UUID) string {
	return arrayLiteral(ids, func(b *strings.Builder, id uuid.UUID) { b.WriteString(id.String()) })
}

// TextArray renders xs as one text[] literal for `?::text[]`: every element
// quoted, with quotes and backslashes escaped, so that a comma, a brace or a
// quote inside a value stays inside it.
func TextArray(xs []string) string {
	return arrayLiteral(xs, func(b *strings.Builder, x string) {
		b.WriteByte('"')
		for _, r := range x {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	})
}

// FloatArray renders xs as one float8[] literal for `?::float8[]`, each
// number in the shortest form that reads back the same.
func FloatArray(xs []float64) string {
	return arrayLiteral(xs, func(b *strings.Builder, x float64) { b.WriteString(strconv.FormatFloat(x, 'g', -1, 64)) })
}

// IntArray renders xs as one integer[] literal for `?::integer[]`.
func IntArray(xs []int) string {
	return arrayLiteral(xs, func(b *strings.Builder, x int) { b.WriteString(strconv.Itoa(x)) })
}
