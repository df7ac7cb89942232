package db

import (
	"testing"

	"github.com/google/uuid"
)

// Each helper renders one array literal; text elements keep commas, braces
// and quotes inside them.
func TestArrayLiterals(t *testing.T) {
	id := uuid.MustParse("01a223de-2f83-7398-8b9f-1ce4217859bb")
	for got, want := range map[string]string{
		UUIDArray([]uuid.UUID{id, id}):             "{01a223de-2f83-7398-8b9f-1ce4217859bb,01a223de-2f83-7398-8b9f-1ce4217859bb}",
		TextArray([]string{`a,b`, `{"x"}`, `c\d`}): `{"a,b","{\"x\"}","c\\d"}`,
		FloatArray([]float64{1e-06, 0.5}):          "{1e-06,0.5}",
		IntArray([]int{2015, -1}):                  "{2015,-1}",
		IntArray(nil):                              "{}",
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
