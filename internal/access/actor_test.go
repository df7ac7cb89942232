package access

import "testing"

func TestScopeContains(t *testing.T) {
	s := Within("91.914", "91.909.31036")
	cases := map[string]bool{
		"91.914":       true,
		"91.914.30791": true,
		"91.9140.1":    false, // a sibling whose code merely starts alike
		"91.909":       false, // the parent of a scope is outside it
		"91.909.31036": true,
		"91.909.31037": false,
		"":             false,
		"79.760.26734": false,
	}
	for path, want := range cases {
		if got := s.Contains(path); got != want {
			t.Errorf("Contains(%q) = %v, want %v", path, got, want)
		}
	}
	if !Everywhere().Contains("") || !Everywhere().Contains("01") {
		t.Error("Everywhere contains everything")
	}
	if (Scope{}).Contains("91") || !(Scope{}).Empty() {
		t.Error("the zero scope contains nothing")
	}
}

func TestNamedScope(t *testing.T) {
	params := map[string]any{}
	got := Within("91.914", "91.909").Named("h.area_path", "scope", params)
	want := "(h.area_path <@ CAST(@scope_0 AS ltree) OR h.area_path <@ CAST(@scope_1 AS ltree))"
	if got != want || params["scope_0"] != "91.914" || params["scope_1"] != "91.909" {
		t.Fatalf("Named = %q %v", got, params)
	}
	if Everywhere().Named("x", "s", params) != "TRUE" || (Scope{}).Named("x", "s", params) != "FALSE" {
		t.Fatal("everywhere is TRUE, the empty scope FALSE")
	}
}
