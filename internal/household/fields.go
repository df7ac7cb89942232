package household

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A record's own fields are declared once, on the model's struct, by tags:
//
//	db:"column[,insert][,update][,patch][,null][,ltree]"
//	audit:"key"  (the key in the audit trail: the column's name when absent, "-" to leave it out)
//
// insert: a registration writes it; update: every change of the record
// writes it back; patch: a client's PATCH may change it (implies update);
// null: "" is stored as NULL; ltree: an ltree column, read as text. A field
// without a db tag (Members) is not a column. The store's column list, scan,
// INSERT and UPDATE, the audit view and the PATCH body are all derived from
// these tags, once, when the package loads (fieldsOf): adding a column is one
// struct field with its tags.

// field is one column of a record as its struct field's tags describe it.
type field struct {
	name                       string // the column; also the JSON and field-error name
	index                      int    // the struct field's index
	typ                        reflect.Type
	insert, update, patch, nul bool
	ltree                      bool
	audit                      string // "" when left out of the audit trail
}

// fields are a record type's columns, in the struct's order.
type fields[T any] []field

// householdFields and memberFields are Household's and Member's columns.
var (
	householdFields = fieldsOf[Household]()
	memberFields    = fieldsOf[Member]()
)

// fieldsOf reads T's tags (once, at start: a malformed tag panics, so that
// any test catches it).
func fieldsOf[T any]() fields[T] {
	t := reflect.TypeFor[T]()
	var out fields[T]
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("db")
		if !ok {
			continue
		}
		parts := strings.Split(tag, ",")
		f := field{name: parts[0], index: i, typ: sf.Type, audit: parts[0]}
		for _, opt := range parts[1:] {
			switch opt {
			case "insert":
				f.insert = true
			case "update":
				f.update = true
			case "patch":
				f.patch, f.update = true, true
			case "null":
				f.nul = true
			case "ltree":
				f.ltree = true
			default:
				panic(fmt.Sprintf("household: %s.%s: unknown db tag option %q", t.Name(), sf.Name, opt))
			}
		}
		if a, ok := sf.Tag.Lookup("audit"); ok {
			f.audit = a
			if a == "-" {
				f.audit = ""
			}
		}
		if (f.insert || f.update) && pgType(f.typ) == "" {
			panic(fmt.Sprintf("household: %s.%s: no array type for %s", t.Name(), sf.Name, f.typ))
		}
		if (f.nul || f.ltree) && f.typ.Kind() != reflect.String {
			panic(fmt.Sprintf("household: %s.%s: null and ltree are for strings", t.Name(), sf.Name))
		}
		out = append(out, f)
	}
	return out
}

// pgType is the PostgreSQL type of a column array holding values of t ("" if
// none is known: such a field is read-only).
func pgType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[uuid.UUID]():
		return "uuid"
	case reflect.TypeFor[*time.Time]():
		return "date"
	case reflect.TypeFor[*int]():
		return "integer"
	}
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "boolean"
	case reflect.Int:
		return "integer"
	}
	return ""
}

// named is the field of this column.
func (fs fields[T]) named(name string) (field, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// dest are pointers to x's fields, in the columns' order, then more, to
// scan into.
func (fs fields[T]) dest(x *T, more ...any) []any {
	v := reflect.ValueOf(x).Elem()
	out := make([]any, len(fs), len(fs)+len(more))
	for i, f := range fs {
		out[i] = v.Field(f.index).Addr().Interface()
	}
	return append(out, more...)
}

// value is f's value in x as a statement's parameter ("" is nil for a null
// column).
func (f field) value(x reflect.Value) any {
	v := x.Field(f.index)
	if v.Kind() == reflect.String { // a named string type (Sex) as a string
		if f.nul && v.String() == "" {
			return nil
		}
		return v.String()
	}
	return v.Interface()
}

// auditView is x's audited fields by their audit keys.
func (fs fields[T]) auditView(x *T, into map[string]any) map[string]any {
	v := reflect.ValueOf(x).Elem()
	for _, f := range fs {
		if f.audit != "" {
			into[f.audit] = v.Field(f.index).Interface()
		}
	}
	return into
}

// copyPatched sets the named patchable fields of dst to their values in src.
func (fs fields[T]) copyPatched(dst, src *T, names []string) error {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for _, name := range names {
		f, ok := fs.named(name)
		if !ok || !f.patch {
			return fmt.Errorf("household: %q is not a field a patch may change", name)
		}
		d.Field(f.index).Set(s.Field(f.index))
	}
	return nil
}
