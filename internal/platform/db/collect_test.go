package db_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

func TestTextArrayRoundTripsAwkwardValues(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	in := []string{"plain", "a,b", `q"uote`, `back\slash`, "{brace}", "", "NULL", "Nguyễn Văn An"}
	got, err := db.Collect(pool.Conn(context.Background()).Raw(`SELECT unnest(?::text[])`, db.TextArray(in)),
		func(r db.Scanner) (string, error) {
			var s string
			return s, r.Scan(&s)
		})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, in) {
		t.Fatalf("round trip: got %q, want %q", got, in)
	}
}

func TestFloatArrayRoundTrips(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	in := []float64{0, 1e-07, 0.9999999, 1.5, -2, 86400}
	got, err := db.Collect(pool.Conn(context.Background()).Raw(`SELECT unnest(?::float8[])`, db.FloatArray(in)),
		func(r db.Scanner) (float64, error) {
			var f float64
			return f, r.Scan(&f)
		})
	if err != nil || !slices.Equal(got, in) {
		t.Fatalf("round trip: got %v (%v), want %v", got, err, in)
	}
}

func TestCollectReturnsTheQueryError(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	_, err := db.Collect(pool.Conn(context.Background()).Raw(`SELECT no_such_column FROM areas`),
		func(r db.Scanner) (int, error) { return 0, nil })
	if err == nil {
		t.Fatal("a failing query must fail Collect")
	}
	n := 0
	err = db.Each(pool.Conn(context.Background()).Raw(`SELECT generate_series(1, 3)`), func(r db.Scanner) error {
		n++
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("Each: %d rows, %v", n, err)
	}
}
