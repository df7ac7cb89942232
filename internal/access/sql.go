package access

import (
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Filter limits q to rows whose column (an ltree path) lies in the scope.
func (s Scope) Filter(q *gorm.DB, column string) *gorm.DB {
	if s.everywhere {
		return q
	}
	cond, args := s.SQL(column)
	return q.Where(cond, args...)
}

// Named is the scope condition on column for a query written with named
// parameters: each subtree's path is added to params as @name_0, @name_1, ...
// (so that two scopes in one query do not collide). Like SQL, it is TRUE for
// Everywhere and FALSE for the empty scope.
func (s Scope) Named(column, name string, params map[string]any) string {
	if s.everywhere {
		return "TRUE"
	}
	if len(s.paths) == 0 {
		return "FALSE"
	}
	parts := make([]string, len(s.paths))
	for i, p := range s.paths {
		key := name + "_" + strconv.Itoa(i)
		params[key] = p
		// CAST rather than ::ltree: GORM ends a parameter's name at a space.
		parts[i] = column + " <@ CAST(@" + key + " AS ltree)"
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}
