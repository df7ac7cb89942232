// Command shape reports the renovation's limits on the Go tree: non-test files
// over 800 lines, functions over 100 lines, hand-written rows.Next() loops
// and SQL statements outside store files. It exits 1 when a limit is passed.
//
//	go run ./scripts/shape [dir ...]   (default: internal cmd)
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	maxFileLines = 800
	maxFuncLines = 100
)

func main() {
	dirs := os.Args[1:]
	if len(dirs) == 0 {
		dirs = []string{"internal", "cmd"}
	}
	found, err := check(dirs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, f := range found {
		fmt.Println(f)
	}
	if len(found) > 0 {
		fmt.Printf("%d over the limits\n", len(found))
		os.Exit(1)
	}
}

// check lists what passes the limits in the Go files below dirs.
func check(dirs ...string) ([]string, error) {
	var found []string
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			if n := fset.Position(f.End()).Line; n > maxFileLines {
				found = append(found, fmt.Sprintf("%s: %d lines (limit %d)", path, n, maxFileLines))
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Body == nil {
						return true
					}
					lines := fset.Position(n.End()).Line - fset.Position(n.Pos()).Line + 1
					if lines > maxFuncLines {
						found = append(found, fmt.Sprintf("%s:%d: func %s is %d lines (limit %d)", path, fset.Position(n.Pos()).Line, n.Name.Name, lines, maxFuncLines))
					}
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Raw" || sel.Sel.Name == "Exec") && outsideStore(path) {
						found = append(found, fmt.Sprintf("%s:%d: SQL outside the package's store", path, fset.Position(n.Pos()).Line))
					}
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Next" && len(n.Args) == 0 && !strings.HasSuffix(path, "db/collect.go") {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "rows" {
							found = append(found, fmt.Sprintf("%s:%d: hand-written rows.Next() loop (use db.Collect or db.Each)", path, fset.Position(n.Pos()).Line))
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// outsideStore reports whether path is a domain package's file that must not
// hold SQL: anything but store*.go and seed.go (demo data is written by SQL)
// in internal/<domain>/. Plumbing, wiring and the load harness are exempt.
func outsideStore(path string) bool {
	parts := strings.Split(filepath.ToSlash(path), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "internal" {
		return false
	}
	parts = parts[len(parts)-3:]
	switch parts[1] {
	case "platform", "app", "bench", "apptest", "config":
		return false
	}
	base := parts[2]
	return !strings.HasPrefix(base, "store") && base != "seed.go"
}
