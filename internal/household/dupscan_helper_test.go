package household

import (
	"context"
	"fmt"
	"os"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// The helper process of TestDuplicateScanKilledLosesNothing: with
// ANSINH_DUPSCAN_HELPER_DB set it scans one batch and, inside the scan's
// transaction once the candidates are written, says so and waits to be
// killed.
func init() {
	url := os.Getenv("ANSINH_DUPSCAN_HELPER_DB")
	if url == "" {
		return
	}
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 2})
	if err != nil {
		os.Exit(2)
	}
	s := NewService(pool, nil, nil)
	s.scanned = func(recorded int64) {
		fmt.Println("recorded", recorded)
		select {} // until killed, before the commit
	}
	_, err = s.ScanDuplicates(context.Background())
	fmt.Println("helper:", err) // not reached when it recorded
	os.Exit(1)
}
