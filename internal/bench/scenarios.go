package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ansinh/ansinh/internal/household"
)

// User is a signed-in bench user working in one commune.
type User struct {
	Token   string
	Commune string
}

// Fixture is what the read scenarios read: households registered before the
// run, one list per user.
type Fixture struct {
	Users      []User
	Auditor    string     // a province auditor's token, for reports
	Households [][]string // per user: household ids in its commune
	Province   string
	// Proposals are enrollments proposed before the run, each with the
	// token of an approver of its district: the approval scenario decides
	// each once.
	Proposals []Proposal
}

// Proposal is an enrollment waiting for approval and who may approve it.
type Proposal struct {
	Enrollment, Approver string
}

// Propose proposes legal aid (a household-level program for poor
// households) for up to n poor households in each user's commune that have
// none yet; approvers maps a user's index to an approver of its district.
func Propose(ctx context.Context, c *Client, f *Fixture, approvers []string, n int) error {
	start := time.Now().UTC().Format(time.DateOnly)
	for u, user := range f.Users {
		// Pages of the commune's poor households until n are proposed: on a
		// bench database reused across runs, the first ones are enrolled.
		proposed, cursor := 0, ""
		for proposed < n {
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
				NextCursor string `json:"next_cursor"`
			}
			path := fmt.Sprintf("/api/v1/households?commune=%s&classification=poor&limit=200", user.Commune)
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			status, _, err := c.Do(ctx, http.MethodGet, path, user.Token, nil, nil, &page)
			if err := expect(status, err, http.StatusOK); err != nil {
				return fmt.Errorf("bench: poor households: %w", err)
			}
			for _, h := range page.Items {
				if proposed == n {
					break
				}
				var out struct {
					ID string `json:"id"`
				}
				status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/enrollments", user.Token, map[string]any{"program_code": "legal_aid",
					"household_id": h.ID, "starts_on": start, "evidence": "bench"}, nil, &out)
				if status == http.StatusConflict { // enrolled by an earlier run
					continue
				}
				if err := expect(status, err, http.StatusCreated); err != nil {
					return fmt.Errorf("bench: propose: %w", err)
				}
				f.Proposals = append(f.Proposals, Proposal{Enrollment: out.ID, Approver: approvers[u]})
				proposed++
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	return nil
}

// HouseholdBody is a household of four drawn from n the way the generator
// draws the loaded ones (names from its lists at random, a head born over
// fifty years, a spouse near the head's age, children twenty to forty years
// younger): registrations then meet duplicate candidates at the rate the
// loaded data has, where names cycling with n in a few birth years made
// each new person a candidate of dozens.
func HouseholdBody(code, commune string, n int) map[string]any {
	r := rand.New(rand.NewPCG(uint64(n), 0x9e3779b97f4a7c15))
	year := time.Now().Year()
	family := families[r.IntN(len(families))]
	name := func(sex household.Sex) string {
		if sex == household.Female {
			return family + " " + middlesF[r.IntN(len(middlesF))] + " " + givensF[r.IntN(len(givensF))]
		}
		return family + " " + middlesM[r.IntN(len(middlesM))] + " " + givensM[r.IntN(len(givensM))]
	}
	head := year - 25 - r.IntN(50)
	spouse := families[r.IntN(len(families))] + " " + middlesF[r.IntN(len(middlesF))] + " " + givensF[r.IntN(len(givensF))]
	child := func() int { return min(year, head+20+r.IntN(20)) }
	return map[string]any{"code": code, "commune_code": commune, "village": fmt.Sprintf("Ấp %d", 1+r.IntN(9)), "address": "tổ 1",
		"area_type": "rural", "members": []map[string]any{
			{"full_name": name(household.Male), "birth_date": fmt.Sprint(head), "sex": "male", "relationship": "head"},
			{"full_name": spouse, "birth_date": fmt.Sprint(head + r.IntN(7) - 3), "sex": "female", "relationship": "spouse"},
			{"full_name": name(household.Male), "birth_date": fmt.Sprint(child()), "sex": "male", "relationship": "child"},
			{"full_name": name(household.Female), "birth_date": fmt.Sprint(child()), "sex": "female", "relationship": "child"},
		}}
}

func expect(status int, err error, want ...int) error {
	if err != nil {
		return err
	}
	for _, w := range want {
		if status == w {
			return nil
		}
	}
	return fmt.Errorf("status %d", status)
}

// Prepare registers n households for each user (the fixture of the reads).
func Prepare(ctx context.Context, c *Client, users []User, auditor, province string, n int, runID string) (Fixture, error) {
	f := Fixture{Users: users, Auditor: auditor, Province: province, Households: make([][]string, len(users))}
	for u, user := range users {
		for i := range n {
			var out struct {
				ID string `json:"id"`
			}
			status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/households", user.Token,
				HouseholdBody(fmt.Sprintf("BF-%s-%d-%d", runID, u, i), user.Commune, u*1000+i), nil, &out)
			if err := expect(status, err, http.StatusCreated); err != nil {
				return f, fmt.Errorf("bench: fixture household: %w", err)
			}
			f.Households[u] = append(f.Households[u], out.ID)
		}
	}
	return f, nil
}

// Scenarios are the request kinds over a fixture: read by id, name
// search, a commune's list, an update with If-Match, the sync feed, register,
// approvals, inboxes and reports. runID keeps registered codes unique across
// runs. The reads of the bench users' communes run before the registration,
// which adds thousands of households to those same communes (4,600 in 10 s
// at 1843e1f, +30% people): after it, the search measured a skewed registry
// and followed the registration's speed (the baseline orders reads first for
// the same reason).
func Scenarios(c *Client, f Fixture, runID string) []Scenario {
	var registered, approved atomic.Int64
	user := func(i int) (User, []string) { u := i % len(f.Users); return f.Users[u], f.Households[u] }
	u0 := f.Users[0]
	baseCode := "BC-" + runID
	return []Scenario{
		{Name: "read a household by id", Baseline: &Request{Method: http.MethodGet, Path: "/api/v1/households/" + f.Households[0][0], User: u0},
			Do: func(ctx context.Context, i int) error {
				u, hs := user(i)
				status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households/"+hs[i%len(hs)], u.Token, nil, nil, nil)
				return expect(status, err, http.StatusOK)
			}},
		{Name: "name search", Baseline: &Request{Method: http.MethodGet, Path: "/api/v1/households?limit=20&q=" + url.QueryEscape(searches[0]), User: u0},
			Do: func(ctx context.Context, i int) error {
				u, _ := user(i)
				status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households?limit=20&q="+url.QueryEscape(searches[i%len(searches)]), u.Token, nil, nil, nil)
				return expect(status, err, http.StatusOK)
			}},
		{Name: "list a commune's households", Baseline: &Request{Method: http.MethodGet, Path: "/api/v1/households?limit=50&commune=" + u0.Commune, User: u0},
			Do: func(ctx context.Context, i int) error {
				u, _ := user(i)
				status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households?limit=50&commune="+u.Commune, u.Token, nil, nil, nil)
				return expect(status, err, http.StatusOK)
			}},
		{Name: "update with If-Match", Do: func(ctx context.Context, i int) error {
			u, hs := user(i)
			id := hs[(i/len(f.Users))%len(hs)]
			var cur struct {
				Version int `json:"version"`
			}
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households/"+id, u.Token, nil, nil, &cur)
			if err := expect(status, err, http.StatusOK); err != nil {
				return err
			}
			status, _, err = c.Do(ctx, http.MethodPatch, "/api/v1/households/"+id, u.Token,
				map[string]string{"address": fmt.Sprintf("tổ %d", i%12+1)}, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, cur.Version)}, nil)
			return expect(status, err, http.StatusOK, http.StatusPreconditionFailed) // a concurrent update of the same household: 412 is right
		}},
		{Name: "sync feed page", Baseline: &Request{Method: http.MethodGet, Path: "/api/v1/sync/changes?limit=100", User: u0},
			Do: func(ctx context.Context, i int) error {
				u, _ := user(i)
				status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/sync/changes?limit=100", u.Token, nil, nil, nil)
				return expect(status, err, http.StatusOK)
			}},
		{Name: "register a household of 4", Baseline: &Request{Method: http.MethodPost, Path: "/api/v1/households",
			Body: HouseholdBody(baseCode, u0.Commune, 1), User: u0, Fresh: []string{baseCode},
			Minimal: []string{"households", "members", "audit_events", "registry_changes"}}, Do: func(ctx context.Context, i int) error {
			u, _ := user(i)
			k := int(registered.Add(1))
			code := fmt.Sprintf("BR-%s-%d", runID, k)
			status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/households", u.Token, HouseholdBody(code, u.Commune, k*7919), nil, nil)
			return expect(status, err, http.StatusCreated)
		}},
		{Name: "approve an enrollment", Do: func(ctx context.Context, i int) error {
			k := int(approved.Add(1)) - 1
			if k >= len(f.Proposals) {
				return ErrExhausted
			}
			p := f.Proposals[k]
			status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/enrollments/"+p.Enrollment+"/approve", p.Approver, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{Name: "inbox of a commune's worker", Do: func(ctx context.Context, i int) error {
			u := f.Users[i%len(f.Users)]
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/inbox", u.Token, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{Name: "inbox of a district's approver", Do: func(ctx context.Context, i int) error {
			if len(f.Proposals) == 0 {
				return ErrExhausted
			}
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/inbox", f.Proposals[i%len(f.Proposals)].Approver, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{Name: "poverty report (province)", Do: func(ctx context.Context, i int) error {
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/reports/poverty?area="+f.Province, f.Auditor, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{Name: "trend report (province, 10 years)", Do: func(ctx context.Context, i int) error {
			to := time.Now().Year()
			status, _, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/reports/trend?area=%s&from=%d&to=%d", f.Province, to-9, to),
				f.Auditor, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
	}
}

// searches are what the name search scenario types: common names, without diacritics.
var searches = []string{"nguyen van an", "tran thi bich", "nguyen thi dieu", "le van hung", "danh thi mai"}

// Names are the scenarios' names, in order.
func Names(ss []Scenario) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return strings.Join(out, ", ")
}
