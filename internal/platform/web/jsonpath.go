package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The decoder of encoding/json tells where a value of the wrong kind is, but
// neither where the text it decodes is not UTF-8 (it puts U+FFFD in its
// place) nor which value a field's own UnmarshalJSON or UnmarshalText refused
// (a malformed UUID). These walkers find the field's JSON path
// (members[1].full_name) in the raw body, once decoding has shown that
// something is wrong, so that the client hears which field to correct.

// childPath is the path of an object's member or an array's element.
func childPath(parent, key string) string {
	if parent == "" {
		return key
	}
	if strings.HasPrefix(key, "[") {
		return parent + key
	}
	return parent + "." + key
}

// rawChildren splits an object or an array into its members' paths and
// values, in a stable order; nil for any other value.
func rawChildren(path string, raw []byte) (paths []string, values []json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	switch raw[0] {
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil, nil
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			paths = append(paths, childPath(path, k))
			values = append(values, obj[k])
		}
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return nil, nil
		}
		for i, v := range arr {
			paths = append(paths, childPath(path, "["+strconv.Itoa(i)+"]"))
			values = append(values, v)
		}
	}
	return paths, values
}

// notUTF8 lists the paths of the strings in raw (a JSON value whose bytes are
// not all UTF-8) that hold the bad bytes; an object whose own member names
// hold them is listed under its own path ("(body)" at the top).
func notUTF8(path string, raw []byte, out []string) []string {
	if utf8.Valid(raw) {
		return out
	}
	before := len(out)
	paths, values := rawChildren(path, raw)
	for i, v := range values {
		out = notUTF8(paths[i], v, out)
	}
	if len(out) == before { // a string, or a member's name
		if path == "" {
			path = "(body)"
		}
		out = append(out, path)
	}
	return out
}

// refusedValue finds the path and the type of the deepest value in raw that
// decoding into a value of type t refuses; "" when t takes raw as a whole.
func refusedValue(path string, raw []byte, t reflect.Type) (string, reflect.Type) {
	if json.Unmarshal(raw, reflect.New(t).Interface()) == nil {
		return "", nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !implementsUnmarshal(t) {
		paths, values := rawChildren("", raw)
		for i, v := range values {
			ct, ok := childType(t, paths[i])
			if !ok {
				continue
			}
			if p, pt := refusedValue(childPath(path, paths[i]), v, ct); p != "" {
				return p, pt
			}
		}
	}
	if path == "" {
		path = "(body)"
	}
	return path, t
}

func implementsUnmarshal(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(reflect.TypeFor[json.Unmarshaler]()) || pt.Implements(reflect.TypeFor[interface {
		UnmarshalText([]byte) error
	}]())
}

// childType is the type that a member (key) or an element ([i]) of a value of
// type t decodes into, found as encoding/json finds it.
func childType(t reflect.Type, key string) (reflect.Type, bool) {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return t.Elem(), strings.HasPrefix(key, "[")
	case reflect.Map:
		return t.Elem(), !strings.HasPrefix(key, "[")
	case reflect.Struct:
		return structField(t, key)
	}
	return nil, false
}

// structField finds the field a JSON member's name decodes into: the exact
// name first, then one that differs only in case.
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	var folded reflect.Type
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f.Type, true
		}
		if folded == nil && strings.EqualFold(name, key) {
			folded = f.Type
		}
	}
	return folded, folded != nil
}
