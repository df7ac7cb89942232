package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tree keeps the renovation's limits (docs/architecture.md): a change
// that grows a file past 800 lines, a function past 100, writes a rows loop
// by hand or puts SQL in a service fails the suite.
func TestTreeKeepsTheLimits(t *testing.T) {
	found, err := check("../../internal", "../../cmd")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}

func TestCheckFindsWhatPassesTheLimits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "internal", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	long := "package demo\n\nfunc long() {\n" + strings.Repeat("\t_ = 1\n", 120) + "}\n\n" +
		"func sql(q interface{ Raw(string) any }) { q.Raw(\"SELECT 1\") }\n\n" +
		"func loop(rows interface{ Next() bool }) { for rows.Next() {} }\n"
	if err := os.WriteFile(filepath.Join(dir, "service.go"), []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Dir(filepath.Dir(dir))); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	found, err := check("internal")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(found, "\n")
	for _, want := range []string{"func long is 122 lines", "SQL outside the package's store", "hand-written rows.Next() loop"} {
		if !strings.Contains(joined, want) {
			t.Errorf("check did not report %q: %s", want, joined)
		}
	}
}
