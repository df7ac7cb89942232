package household

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/google/uuid"
)

// The statements of a table whose record type declares its columns by tags
// (fields.go), built once when the package loads, and their parameters.

// selectList is the columns of fs as a SELECT reads them from table: a null
// column as "", an ltree as text.
func selectList[T any](table string, fs fields[T]) string {
	cols := make([]string, len(fs))
	for i, f := range fs {
		c := table + "." + f.name
		switch {
		case f.ltree:
			c += "::text"
		case f.nul:
			c = "coalesce(" + c + ", '')"
		}
		cols[i] = c
	}
	return strings.Join(cols, ", ")
}

// updateStatement writes the update columns of fs, then the extra columns
// (each "name type"), and moves the row to its next version with stamp (more
// bookkeeping, such as "updated_at = now()"). Its parameters are the columns'
// values (columnValues), the extra columns', stamp's and the id.
func updateStatement[T any](table string, fs fields[T], stamp string, extra ...string) string {
	var set []string
	for _, f := range fs {
		if f.update {
			set = append(set, f.name+" = ?"+cast(f))
		}
	}
	for _, e := range extra {
		name, _, _ := strings.Cut(e, " ")
		set = append(set, name+" = ?")
	}
	return "UPDATE " + table + " SET " + strings.Join(set, ", ") + ", version = version + 1, " + stamp + " WHERE id = ?"
}

// inserts are a table's INSERT statements.
type inserts struct {
	head   string // INSERT INTO table (columns)
	row    string // a row of parameters, "(?, ...)": head VALUES row[, row...]
	arrays string // from one array parameter per column
}

// one is the INSERT of one row.
func (i inserts) one() string { return i.head + " VALUES " + i.row }

// insertStatements are the INSERT of the insert columns of fs and the extra
// columns (each "name type") into table.
func insertStatements[T any](table string, fs fields[T], extra ...string) inserts {
	var cols, params, selects, arrs []string
	add := func(name, param, typ string) {
		cols, params = append(cols, name), append(params, "?"+param)
		selects = append(selects, "u."+name+param)
		arrs = append(arrs, fmt.Sprintf("$%d::%s[]", len(arrs)+1, typ))
	}
	for _, f := range fs {
		if f.insert {
			add(f.name, cast(f), pgType(f.typ))
		}
	}
	for _, e := range extra {
		name, typ, _ := strings.Cut(e, " ")
		add(name, "", typ)
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")"
	return inserts{head: head, row: "(" + strings.Join(params, ", ") + ")",
		arrays: head + " SELECT " + strings.Join(selects, ", ") + " FROM unnest(" + strings.Join(arrs, ", ") + ") AS u (" + strings.Join(cols, ", ") + ")"}
}

// cast is what a parameter of f's column needs to be stored.
func cast(f field) string {
	if f.ltree {
		return "::ltree"
	}
	return ""
}

// columnValues are the values of the columns of fs that keep (insert or
// update), in order, followed by more.
func columnValues[T any](fs fields[T], x *T, keep func(field) bool, more ...any) []any {
	v := reflect.ValueOf(x).Elem()
	out := make([]any, 0, len(fs)+len(more))
	for _, f := range fs {
		if keep(f) {
			out = append(out, f.value(v))
		}
	}
	return append(out, more...)
}

func inserted(f field) bool { return f.insert }
func updated(f field) bool  { return f.update }

// columnArrays are the values of the insert columns of fs in xs, one array
// per column: a uuid as text, a string type as string, "" as nil in a null
// column.
func columnArrays[T any](fs fields[T], xs []T) []any {
	var out []any
	for _, f := range fs {
		if !f.insert {
			continue
		}
		elem := f.typ
		switch {
		case f.typ == reflect.TypeFor[uuid.UUID]() || f.typ.Kind() == reflect.String:
			elem = reflect.TypeFor[string]()
			if f.nul {
				elem = reflect.TypeFor[*string]()
			}
		}
		arr := reflect.MakeSlice(reflect.SliceOf(elem), len(xs), len(xs))
		for i := range xs {
			v := reflect.ValueOf(&xs[i]).Elem().Field(f.index)
			switch {
			case f.typ == reflect.TypeFor[uuid.UUID]():
				arr.Index(i).SetString(v.Interface().(uuid.UUID).String())
			case f.nul:
				arr.Index(i).Set(reflect.ValueOf(optional(v.String())))
			case v.Kind() == reflect.String:
				arr.Index(i).SetString(v.String())
			default:
				arr.Index(i).Set(v)
			}
		}
		out = append(out, arr.Interface())
	}
	return out
}
