package reorganize

import (
	"strings"
	"testing"
)

// A suffixed code stays within the 32 characters a household code may have.
func TestFitCode(t *testing.T) {
	if got := fitCode("A12", "-30791"); got != "A12-30791" {
		t.Errorf("short: %s", got)
	}
	long := strings.Repeat("K", 30)
	if got := fitCode(long, "-30791-2"); len(got) != 32 || !strings.HasSuffix(got, "-30791-2") || !strings.HasPrefix(got, "KKKK") {
		t.Errorf("long: %s (%d)", got, len(got))
	}
}
