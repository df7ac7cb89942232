package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	uuidLiteral = regexp.MustCompile(`'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'`)
	tpsLine     = regexp.MustCompile(`tps = ([0-9.]+)`)
	nonWord     = regexp.MustCompile(`[^a-z0-9]+`)
	insertInto  = regexp.MustCompile(`(?i)\bINSERT\s+INTO\s+"?([a-z_][a-z0-9_]*)`)
)

// writes is whether a statement writes: an INSERT or an UPDATE, or a WITH
// whose clauses or main statement do (an audit event sent along its change).
func writes(s string) bool {
	up := strings.ToUpper(strings.TrimSpace(s))
	return strings.HasPrefix(up, "INSERT") || strings.HasPrefix(up, "UPDATE") ||
		(strings.HasPrefix(up, "WITH") && (insertInto.MatchString(s) || strings.Contains(up, "UPDATE ")))
}

// Script turns one request's captured statements into a pgbench script that
// repeats the same SQL: the ids the request minted (UUID literals first seen
// in a write) become fresh ones per transaction, derived from a random number,
// and so do the literals given in fresh (such as a household code).
func Script(stmts []string, fresh []string) string {
	seenInRead := map[string]bool{}
	minted := map[string]int{}
	for _, s := range stmts {
		write := writes(s)
		for _, u := range uuidLiteral.FindAllString(s, -1) {
			if !write {
				seenInRead[u] = true
			} else if !seenInRead[u] {
				if _, ok := minted[u]; !ok {
					minted[u] = len(minted) + 1
				}
			}
		}
	}
	var b strings.Builder
	b.WriteString("\\set n random(1, 2000000000)\n")
	b.WriteString("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ts \\gset\n")
	for _, s := range stmts {
		for u, k := range minted {
			// Time-ordered like the UUIDv7 the API mints (index inserts stay at the end).
			// (:ts is the transaction's millisecond clock, the same in every statement.)
			s = strings.ReplaceAll(s, u, fmt.Sprintf("(lpad(to_hex(:ts::bigint), 12, '0') || '7' || substr(md5(:n::text || '-%d'), 1, 19))::uuid", k))
		}
		for i, f := range fresh {
			s = strings.ReplaceAll(s, "'"+f+"'", fmt.Sprintf("('pgb%d-' || :n::text)", i))
		}
		s = strings.TrimSpace(s)
		if !strings.HasSuffix(s, ";") {
			s += ";"
		}
		b.WriteString(s)
		b.WriteString("\n")
	}
	return b.String()
}

// Minimal keeps of a request's statements its transaction's bounds and the
// inserts into tables (a statement that inserts into several, all of them
// among tables): the rows the job must write and nothing else.
func Minimal(stmts []string, tables []string) []string {
	var out []string
	for _, s := range stmts {
		f := strings.Fields(strings.ToUpper(s))
		if len(f) == 1 && (f[0] == "BEGIN" || f[0] == "COMMIT" || f[0] == "BEGIN;" || f[0] == "COMMIT;") {
			out = append(out, s)
			continue
		}
		into := insertInto.FindAllStringSubmatch(s, -1)
		if len(into) == 0 || strings.HasPrefix(f[0], "SELECT") {
			continue
		}
		if !slices.ContainsFunc(into, func(m []string) bool { return !slices.Contains(tables, strings.ToLower(m[1])) }) {
			out = append(out, s)
		}
	}
	return out
}

// Slug is a scenario's name as a file name: "read a household by id" ->
// "read-a-household-by-id".
func Slug(name string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

// PgLength is how long a pgbench run lasts: Transactions per client when
// set, else Seconds (at least one).
type PgLength struct {
	Seconds      int
	Transactions int
}

func (l PgLength) args() []string {
	if l.Transactions > 0 {
		return []string{"-t", strconv.Itoa(l.Transactions)}
	}
	return []string{"-T", strconv.Itoa(max(l.Seconds, 1))}
}

// PgBench runs a script at a concurrency for a length and returns the
// transactions per second pgbench measured.
func PgBench(ctx context.Context, binary, url, script string, concurrency int, length PgLength) (float64, error) {
	dir, err := os.MkdirTemp("", "ansinh-pgbench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "script.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return 0, err
	}
	// The simple protocol: pgbench's prepared mode would read the ":" inside
	// the audit documents' JSON literals as parameters. (pgx prepares and
	// caches its statements, so the API saves the parsing pgbench does here:
	// the baseline errs on the slow side.)
	args := append([]string{"-n", "-f", file, "-c", strconv.Itoa(concurrency), "-j", strconv.Itoa(min(concurrency, 4))}, length.args()...)
	cmd := exec.CommandContext(ctx, binary, append(args, url)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v: %s", err, firstError(string(out)))
	}
	m := tpsLine.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in its output: %s", lastLines(string(out), 5))
	}
	return strconv.ParseFloat(m[1], 64)
}

// firstError is pgbench's first error line (the cause), else its last lines.
func firstError(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "error") || strings.Contains(l, "ERROR") {
			if len(l) > 400 {
				l = l[:400] + "..."
			}
			return l
		}
	}
	return lastLines(s, 5)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
