package app_test

// The review tests live in internal/assessment; programs_test.go and
// reports_test.go still drive reviews through the API and decode with these.

type reviewOut struct {
	ID            string         `json:"id"`
	State         string         `json:"state"`
	ReferenceDate string         `json:"reference_date"`
	DecideBy      string         `json:"decide_by"`
	Counts        map[string]int `json:"counts"`
	Version       int            `json:"version"`
	Objections    []struct {
		ID string `json:"id"`
	} `json:"objections"`
	Steps []struct {
		Action string `json:"action"`
	} `json:"approval_steps"`
}

type assessmentOut struct {
	ID             string `json:"id"`
	Classification string `json:"classification"`
	StandardCode   string `json:"standard_code"`
	State          string `json:"state"`
	SentBack       bool   `json:"sent_back"`
	Version        int    `json:"version"`
	Deprivations   int    `json:"deprivations"`
	Answers        []struct {
		Indicator string `json:"indicator"`
		Deprived  bool   `json:"deprived"`
		Source    string `json:"source"`
		Prefill   *struct {
			Reason string `json:"reason"`
		} `json:"prefill"`
	} `json:"answers"`
	Reasons []struct {
		Code string `json:"code"`
	} `json:"reasons"`
}
