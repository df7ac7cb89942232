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
