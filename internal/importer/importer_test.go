package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/importer"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

type nopReads struct{}

func (nopReads) Read(context.Context, string, string, ...uuid.UUID) {}

var testKey = bytes.Repeat([]byte{7}, 32)

func setup(t testing.TB, url string) (*importer.Importer, *db.DB) {
	t.Helper()
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	protect, err := household.NewIDProtector(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return importer.New(pool, household.NewService(pool, protect, nopReads{})), pool
}

const head = "commune_code,household_code,village,address,area_type,phone,ethnic_minority,full_name,birth_date,sex,id_number,relationship,ethnicity_code,disability,student\n"

// generate writes n households of four in commune 30791 (codes G-prefix-i),
// with a CCCD for the two adults.
func generate(prefix string, n int) string { return generateFrom(prefix, n, 0) }

// generateFrom is generate with ID numbers from base on.
func generateFrom(prefix string, n, base int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		code := fmt.Sprintf("%s-%07d", prefix, i)
		fmt.Fprintf(&b, "30791,%s,Ấp %d,tổ %d,rural,,không,Nguyễn Văn An,1978,male,%s,head,1,không,không\n", code, i%9+1, i%12+1,
			fmt.Sprintf("0910780%05d", (base+i)%100000))
		fmt.Fprintf(&b, "30791,%s,,,,,,Trần Thị Bích,1981-03-04,female,%s,spouse,1,không,không\n", code, fmt.Sprintf("0911810%05d", (base+i)%100000))
		fmt.Fprintf(&b, "30791,%s,,,,,,Nguyễn Văn Cường,2008-05-02,male,,child,1,không,có\n", code)
		fmt.Fprintf(&b, "30791,%s,,,,,,Nguyễn Thị Diệu,2014,female,,child,1,không,có\n", code)
	}
	return b.String()
}

func run(t *testing.T, im *importer.Importer, scope access.Scope, mode, csv string) importer.Result {
	t.Helper()
	ctx := access.WithActor(context.Background(), access.System("test"))
	res, err := im.Run(ctx, scope, mode, "csv", "test", strings.NewReader(csv), int64(len(csv)), nil)
	if err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	return res
}

func count(t *testing.T, pool *db.DB, q string) int {
	t.Helper()
	var n int
	if err := pool.Conn(context.Background()).Raw(q).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Every kind of problem is reported with its row, column and both languages.
func TestImportValidation(t *testing.T) {
	t.Parallel()
	im, pool := setup(t, dbtest.NewDatabase(t).AppURL)
	// A person already registered holds 091078000001.
	ok := run(t, im, access.Everywhere(), importer.ValidOnly, head+"30791,OLD-1,Ấp 1,,rural,,không,Lê Văn Cũ,1978,male,091078000001,head,1,không,không\n")
	if ok.HouseholdsCreated != 1 {
		t.Fatalf("seed: %+v", ok)
	}
	rows := head + strings.Join([]string{
		"30791,V-1,Ấp 1,,rural,,không,Nguyễn Văn A,1978,male,,head,1,không,không",                                    // 2: valid
		"99999,V-2,Ấp 1,,rural,,không,Nguyễn Văn B,1978,male,,head,1,không,không",                                    // 3: not a commune
		"30791,V-3,Ấp 1,,rural,,không,Nguyễn Văn C,19x8,male,,head,1,không,không",                                    // 4: birth date
		"30791,V-4,Ấp 1,,rural,,không,Nguyễn Văn D," + time.Now().Format("2006") + "-12-31,male,,head,1,không,không", // 5: future
		"30791,V-5,Ấp 1,,rural,,không,Nguyễn Văn E,1978,man,,head,1,không,không",                                     // 6: sex
		"30791,V-6,Ấp 1,,rural,,không,Nguyễn Văn F,1978,male,,boss,1,không,không",                                    // 7: relationship (and no head)
		"30791,V-7,Ấp 1,,rural,,không,Nguyễn Văn G,1978,male,,head,1,không,không",                                    // 8: two heads...
		"30791,V-7,,,,,,Nguyễn Văn H,1980,male,,head,1,không,không",                                                  // 9: ...the second
		"30791,V-8,Ấp 1,,rural,,không,Nguyễn Văn I,1978,male,12345,head,1,không,không",                               // 10: ID format
		"30791,V-9,Ấp 1,,rural,,không,Nguyễn Văn K,1985,male,091078000002,head,1,không,không",                        // 11: ID vs birth year
		"30791,V-10,Ấp 1,,rural,,không,Nguyễn Văn L,1978,male,091078000003,head,1,không,không",
		"30791,V-11,Ấp 1,,rural,,không,Nguyễn Văn M,1978,male,091078000003,head,1,không,không", // 13: same ID as row 12
		"30791,V-12,Ấp 1,,rural,,không,Nguyễn Văn N,1978,male,091078000001,head,1,không,không", // 14: ID registered
		"30791,V-1,Ấp 1,,rural,,không,Nguyễn Văn O,1978,male,,head,1,không,không",              // 15: V-1 again, scattered
		"30791,V-13,Ấp 1,,rural,,có?,Nguyễn Văn P,1978,male,,head,1,không,không",               // 16: boolean
		"30791,V-14,Ấp 1,,rural,,không,Nguyễn Văn Q,1978,male,,head,99,không,không",            // 17: ethnicity
		"30791,V-15,,,space,,không,Nguyễn Văn R,1978,male,,head,1,không,không",                 // 18: village and area type
		"31036,V-16,Ấp 1,,rural,,không,Nguyễn Văn S,1978,male,,head,1,không,không",             // 19: outside scope
		"30791,V 17,Ấp 1,,rural,,không,Nguyễn Văn T,1978,male,,head,1,không,không",             // 20: code with a space
	}, "\n") + "\n"
	res := run(t, im, access.Within("91.914"), importer.DryRun, rows)
	want := map[string]string{"3:commune_code": "invalid", "4:birth_date": "invalid", "5:birth_date": "future", "6:sex": "invalid",
		"7:relationship": "", "8:relationship": "head", "10:id_number": "format", "11:id_number": "",
		"13:id_number": "duplicate", "14:id_number": "registered", "15:household_code": "scattered", "16:ethnic_minority": "boolean",
		"17:ethnicity_code": "invalid", "18:village": "required", "18:area_type": "invalid", "19:commune_code": "outside_scope",
		"20:household_code": "invalid"}
	got := map[string]importer.Problem{}
	for _, p := range res.Problems {
		got[fmt.Sprintf("%d:%s", p.Row, p.Column)] = p
		if p.EN == "" || !strings.HasPrefix(p.VI, fmt.Sprintf("Dòng %d, cột %s: ", p.Row, p.Column)) {
			t.Errorf("problem without both languages: %+v", p)
		}
	}
	for k, code := range want {
		p, ok := got[k]
		if !ok || code != "" && p.Code != code {
			t.Errorf("%s: got %+v, want code %q", k, p, code)
		}
	}
	if res.HouseholdsValid != 2 || res.HouseholdsInvalid != 16 || res.RowsRead != 19 {
		t.Errorf("figures: %+v", res.Progress)
	}
	if n := count(t, pool, `SELECT count(*) FROM households`); n != 1 {
		t.Fatalf("a dry run wrote: %d households", n)
	}
	// All or nothing: nothing. Valid only: the two valid households.
	if res := run(t, im, access.Within("91.914"), importer.AllOrNothing, rows); res.HouseholdsCreated != 0 ||
		count(t, pool, `SELECT count(*) FROM households`) != 1 {
		t.Fatalf("all or nothing wrote: %+v", res.Progress)
	}
	res = run(t, im, access.Within("91.914"), importer.ValidOnly, rows)
	if res.HouseholdsCreated != 2 || count(t, pool, `SELECT count(*) FROM households`) != 3 {
		t.Fatalf("valid only: %+v", res.Progress)
	}

	// A file without the required columns is refused whole.
	ctx := access.WithActor(context.Background(), access.System("test"))
	bad := "commune_code,household_code,name\n30791,X,Y\n"
	if _, err := im.Run(ctx, access.Everywhere(), importer.DryRun, "csv", "t", strings.NewReader(bad), int64(len(bad)), nil); err == nil ||
		!strings.Contains(err.Error(), "not in the template") {
		t.Fatalf("a foreign header: %v", err)
	}
}

// Every mode on a clean file, a re-run that creates nothing, and XLSX input.
func TestImportModesAndRerun(t *testing.T) {
	t.Parallel()
	im, pool := setup(t, dbtest.NewDatabase(t).AppURL)
	file := generate("M", 1200)
	if res := run(t, im, access.Everywhere(), importer.DryRun, file); res.HouseholdsValid != 1200 || res.HouseholdsCreated != 0 {
		t.Fatalf("dry run: %+v", res.Progress)
	}
	res := run(t, im, access.Everywhere(), importer.AllOrNothing, file)
	if res.HouseholdsCreated != 1200 || res.MembersCreated != 4800 {
		t.Fatalf("all or nothing: %+v", res.Progress)
	}
	if n := count(t, pool, `SELECT count(*) FROM members WHERE id_sealed IS NOT NULL`); n != 2400 {
		t.Fatalf("%d sealed ID numbers, want 2400", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM audit_events WHERE action = 'household.import'`); n != 2 {
		t.Fatalf("%d import events, want one per batch of 1000 (2)", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM registry_changes`); n != 1200 {
		t.Fatalf("%d sync entries", n)
	}
	again := run(t, im, access.Everywhere(), importer.ValidOnly, file)
	if again.HouseholdsCreated != 0 || again.HouseholdsExisting != 1200 || count(t, pool, `SELECT count(*) FROM households`) != 1200 {
		t.Fatalf("re-run: %+v", again.Progress)
	}

	// The same rows as an Excel workbook.
	f := excelize.NewFile()
	for i, line := range strings.Split(strings.TrimSpace(generateFrom("X", 3, 50_000)), "\n") {
		cells := strings.Split(line, ",")
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("Sheet1", cell, &row)
	}
	var buf bytes.Buffer
	f.Write(&buf)
	ctx := access.WithActor(context.Background(), access.System("test"))
	x, err := im.Run(ctx, access.Everywhere(), importer.ValidOnly, "xlsx", "t", bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil)
	if err != nil || x.HouseholdsCreated != 3 {
		t.Fatalf("xlsx: %+v %v %+v", x.Progress, err, x.Problems)
	}
	if b, err := importer.Template(importer.Households); err != nil || len(b) < 1000 {
		t.Fatalf("template: %v", err)
	}
}

// TestMain doubles as the helper process that TestImportKilledHalfWay starts
// and kills: with ANSINH_IMPORT_HELPER_FILE set it imports that file and exits.
func TestMain(m *testing.M) {
	if file := os.Getenv("ANSINH_IMPORT_HELPER_FILE"); file != "" {
		os.Exit(helper(file, os.Getenv("ANSINH_IMPORT_HELPER_DB")))
	}
	os.Exit(m.Run())
}

func helper(file, url string) int {
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return 2
	}
	protect, _ := household.NewIDProtector(testKey)
	im := importer.New(pool, household.NewService(pool, protect, nopReads{}))
	b, err := os.ReadFile(file)
	if err != nil {
		return 2
	}
	ctx := access.WithActor(context.Background(), access.System("test"))
	if _, err := im.Run(ctx, access.Everywhere(), importer.ValidOnly, "csv", "helper", bytes.NewReader(b), int64(len(b)), nil); err != nil {
		return 1
	}
	return 0
}

// An import killed half way (the process, not a context) leaves whole
// households only, and running the file again completes it.
func TestImportKilledHalfWay(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t)
	_, pool := setup(t, d.AppURL)
	// Two batches written, then killed: the helper cannot write the other
	// three between two polls 20 ms apart.
	const n = 5_000
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte(generate("K", n)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "ANSINH_IMPORT_HELPER_FILE="+path, "ANSINH_IMPORT_HELPER_DB="+d.AppURL)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for count(t, pool, `SELECT count(*) FROM households`) < 2000 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the helper wrote nothing in a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	written := count(t, pool, `SELECT count(*) FROM households`)
	if written >= n {
		t.Fatalf("the helper finished before it was killed (%d households): make the file larger", written)
	}
	if partial := count(t, pool, `SELECT count(*) FROM (SELECT h.id FROM households h LEFT JOIN members m ON m.household_id = h.id
		GROUP BY h.id HAVING count(m.id) <> 4) p`); partial != 0 {
		t.Fatalf("%d households without their four members after the kill", partial)
	}
	im, _ := setup(t, d.AppURL)
	b, _ := os.ReadFile(path)
	res := run(t, im, access.Everywhere(), importer.ValidOnly, string(b))
	if res.HouseholdsExisting != written || res.HouseholdsCreated != n-written || count(t, pool, `SELECT count(*) FROM members`) != 4*n {
		t.Fatalf("after the kill, %d written; the re-run: %+v", written, res.Progress)
	}
}
