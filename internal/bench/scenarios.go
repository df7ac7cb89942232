package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
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
}

// HouseholdBody is a household of four whose people vary with n (names from
// the generator's lists, birth years): identical people would make every
// registration a duplicate candidate of every earlier one, which real data
// does not do.
func HouseholdBody(code, commune string, n int) map[string]any {
	family := families[n%len(families)]
	head := fmt.Sprintf("%s %s %s", family, middlesM[(n/3)%len(middlesM)], givensM[(n/7)%len(givensM)])
	spouse := fmt.Sprintf("%s %s %s", families[(n/5)%len(families)], middlesF[(n/11)%len(middlesF)], givensF[(n/13)%len(givensF)])
	year := 1950 + n%50
	return map[string]any{"code": code, "commune_code": commune, "village": fmt.Sprintf("Ấp %d", 1+n%9), "address": "tổ 1",
		"area_type": "rural", "members": []map[string]any{
			{"full_name": head, "birth_date": fmt.Sprint(year), "sex": "male", "relationship": "head"},
			{"full_name": spouse, "birth_date": fmt.Sprint(year + 2), "sex": "female", "relationship": "spouse"},
			{"full_name": family + " " + middlesM[(n/17)%len(middlesM)] + " " + givensM[(n/19)%len(givensM)],
				"birth_date": fmt.Sprint(2008 + n%8), "sex": "male", "relationship": "child", "student": true},
			{"full_name": family + " " + middlesF[(n/23)%len(middlesF)] + " " + givensF[(n/29)%len(givensF)],
				"birth_date": fmt.Sprint(2012 + n%8), "sex": "female", "relationship": "child", "student": true},
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

// Scenarios are the request kinds over a fixture: register, read by
// id, name search, a commune's list, an update with If-Match, the sync feed
// and a report. runID keeps registered codes unique across runs.
func Scenarios(c *Client, f Fixture, runID string) []Scenario {
	var registered atomic.Int64
	user := func(i int) (User, []string) { u := i % len(f.Users); return f.Users[u], f.Households[u] }
	return []Scenario{
		{"register a household of 4", func(ctx context.Context, i int) error {
			u, _ := user(i)
			k := int(registered.Add(1))
			code := fmt.Sprintf("BR-%s-%d", runID, k)
			status, _, err := c.Do(ctx, http.MethodPost, "/api/v1/households", u.Token, HouseholdBody(code, u.Commune, k*7919), nil, nil)
			return expect(status, err, http.StatusCreated)
		}},
		{"read a household by id", func(ctx context.Context, i int) error {
			u, hs := user(i)
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households/"+hs[i%len(hs)], u.Token, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{"name search", func(ctx context.Context, i int) error {
			u, _ := user(i)
			q := []string{"nguyen van an", "tran thi bich", "nguyen thi dieu"}[i%3]
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households?limit=20&q="+url.QueryEscape(q), u.Token, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{"list a commune's households", func(ctx context.Context, i int) error {
			u, _ := user(i)
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/households?limit=50&commune="+u.Commune, u.Token, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{"update with If-Match", func(ctx context.Context, i int) error {
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
		{"sync feed page", func(ctx context.Context, i int) error {
			u, _ := user(i)
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/sync/changes?limit=100", u.Token, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
		{"poverty report (province)", func(ctx context.Context, i int) error {
			status, _, err := c.Do(ctx, http.MethodGet, "/api/v1/reports/poverty?area="+f.Province, f.Auditor, nil, nil, nil)
			return expect(status, err, http.StatusOK)
		}},
	}
}

// Names are the scenarios' names, in order.
func Names(ss []Scenario) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return strings.Join(out, ", ")
}
