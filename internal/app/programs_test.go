package app_test

// enrollmentOut is the part of an enrollment reports_test.go reads. The
// programs' own tests moved to internal/program; this stays only until
// reports_test.go moves to its package.
type enrollmentOut struct {
	ID         string         `json:"id"`
	State      string         `json:"state"`
	Amount     int64          `json:"amount"`
	Reason     string         `json:"reason"`
	Benefit    map[string]any `json:"benefit"`
	FlaggedOn  string         `json:"flagged_on"`
	FlagReason string         `json:"flag_reason"`
	Version    int            `json:"version"`
}
