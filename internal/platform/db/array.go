package db

import (
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// UUIDArray renders ids as one array literal for `= ANY(?::uuid[])`. GORM
// spreads a slice into `IN ($1, …, $n)`: a statement of its own for every
// length, each planned again, where one array parameter keeps one prepared
// statement however many ids a page holds.
func UUIDArray(ids []uuid.UUID) string {
	var b strings.Builder
	b.Grow(2 + len(ids)*37)
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id.String())
	}
	b.WriteByte('}')
	return b.String()
}

// TextArray renders xs as one text[] literal for `?::text[]` (see UUIDArray):
// every element quoted, with quotes and backslashes escaped, so that a comma,
// a brace or a quote inside a value stays inside it.
func TextArray(xs []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range x {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// FloatArray renders xs as one float8[] literal for `?::float8[]` (see
// UUIDArray), each number in the shortest form that reads back the same.
func FloatArray(xs []float64) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	}
	b.WriteByte('}')
	return b.String()
}

// IntArray renders xs as one integer[] literal for `?::integer[]` (see
// UUIDArray).
func IntArray(xs []int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(x))
	}
	b.WriteByte('}')
	return b.String()
}
