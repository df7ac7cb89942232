package importer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/household"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// fakeRegistry checks batches with check and writes nothing.
type fakeRegistry struct {
	check   func(ctx context.Context) error
	batches atomic.Int32
}

func (f *fakeRegistry) CheckBatch(ctx context.Context, _ access.Scope, _ []household.Household) (household.BulkResult, error) {
	f.batches.Add(1)
	return household.BulkResult{}, f.check(ctx)
}

func (f *fakeRegistry) InsertBatch(context.Context, string, []household.Household) ([]uuid.UUID, int, error) {
	return nil, 0, nil
}

func (f *fakeRegistry) LookupKey(id household.IDNumber) []byte { return []byte(id.Digits) }

func (f *fakeRegistry) Classify(context.Context, uuid.UUID, string, string, time.Time) (string, bool, error) {
	return "", false, nil
}

// heads is a file of n households of one person each.
func heads(n int) string {
	var b strings.Builder
	b.WriteString("commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n")
	for i := range n {
		fmt.Fprintf(&b, "30791,R-%06d,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n", i)
	}
	return b.String()
}

func runWith(ctx context.Context, t *testing.T, reg registry, mode, file string) (Result, error) {
	t.Helper()
	pool, err := db.Open(db.Options{URL: dbtest.NewDatabase(t).AppURL, MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	ctx = access.WithActor(ctx, access.System("test"))
	return New(pool, reg).Run(ctx, access.Everywhere(), mode, "csv", "test", strings.NewReader(file), int64(len(file)), nil)
}

// A writer's failure is the import's error, and the reader stops soon after
// it rather than reading the rest of the file.
func TestRunStopsWhenAWriterFails(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, mode := range []string{AllOrNothing, ValidOnly} {
		reg := &fakeRegistry{check: func(context.Context) error { return boom }}
		const n = 20 * batchSize
		res, err := runWith(context.Background(), t, reg, mode, heads(n))
		if !errors.Is(err, boom) {
			t.Fatalf("%s: error %v, want the writer's", mode, err)
		}
		// At most a batch held by each writer, those waiting in the channel
		// and the one being sent were read before the reader stopped.
		if res.RowsRead >= n/2 {
			t.Fatalf("%s: %d rows read after a writer failed on the first batch", mode, res.RowsRead)
		}
	}
}

// An import whose context is cancelled (the server stops) ends with errStop,
// which the job reports as stopped, wherever the reader was.
func TestRunStoppedByItsContext(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{AllOrNothing, ValidOnly} {
		ctx, cancel := context.WithCancel(context.Background())
		reg := &fakeRegistry{check: func(context.Context) error { cancel(); return context.Canceled }}
		_, err := runWith(ctx, t, reg, mode, heads(10*batchSize))
		cancel()
		if !errors.Is(err, errStop) {
			t.Fatalf("%s: error %v, want errStop", mode, err)
		}
		if status, msg := outcome(err); status != jobFailed || !strings.Contains(msg, "stopped before the end") {
			t.Fatalf("%s: the job would end %s: %q", mode, status, msg)
		}
	}
}

// Households whose text cannot be read are reported for that text only:
// not as the same household appearing twice (such a household has no codes
// yet to compare).
func TestUnreadableHouseholdsAreNotScattered(t *testing.T) {
	t.Parallel()
	file := "commune_code,household_code,village,area_type,full_name,birth_date,sex,relationship\n" +
		"30791,B-1,Ấp 1,rural,Nguy\xeal,1978,male,head\n" +
		"30791,B-2,Ấp 1,rural,Tr\xean,1978,male,head\n" +
		"30791,B-3,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n" +
		"30791,B-1,Ấp 1,rural,Nguyễn Văn An,1978,male,head\n" // B-1 again: it is scattered
	reg := &fakeRegistry{check: func(context.Context) error { return nil }}
	res, err := runWith(context.Background(), t, reg, DryRun, file)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, fmt.Sprintf("%d:%s:%s", p.Row, p.Column, p.Code))
	}
	want := []string{"2:full_name:encoding", "3:full_name:encoding", "5:household_code:scattered"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems %v, want %v", got, want)
	}
	if res.HouseholdsInvalid != 3 || res.HouseholdsValid != 1 {
		t.Fatalf("figures: %+v", res.Progress)
	}
}
