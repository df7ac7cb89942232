package household_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/apptest"
)

type syncPage struct {
	Changes []struct {
		ID        string             `json:"id"`
		Op        string             `json:"op"`
		Household *apptest.Household `json:"household"`
	} `json:"changes"`
	NextCursor string `json:"next_cursor"`
	HasMore    bool   `json:"has_more"`
}

// drain reads the feed from cursor until has_more is false, in pages of size.
func drain(t *testing.T, h http.Handler, token, cursor string, size int) ([]string, string) {
	t.Helper()
	var seen []string
	for range 50 {
		path := "/api/v1/sync/changes?limit=" + itoa(size)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		w := apptest.Send(t, h, "GET", path, token, nil)
		if w.Code != 200 {
			t.Fatalf("sync: %d %s", w.Code, w.Body.String())
		}
		var p syncPage
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Changes {
			entry := c.Op + ":" + c.ID
			if c.Household != nil {
				entry += ":" + c.Household.Village
			}
			seen = append(seen, entry)
		}
		cursor = p.NextCursor
		if !p.HasMore {
			return seen, cursor
		}
	}
	t.Fatal("the feed does not end")
	return nil, ""
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestSyncFeed(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "sync-worker", "commune_worker", "30791", false)
	apptest.CreateUser(t, a, "sync-other", "commune_worker", "31036", false)
	worker := apptest.Login(t, h, "sync-worker", apptest.Password).AccessToken
	other := apptest.Login(t, h, "sync-other", apptest.Password).AccessToken

	var ids []string
	for _, code := range []string{"SY-1", "SY-2", "SY-3"} {
		w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody(code, "30791", ""))
		if w.Code != 201 {
			t.Fatalf("create: %d", w.Code)
		}
		ids = append(ids, apptest.DecodeHousehold(t, w).ID)
	}
	apptest.Send(t, h, "POST", "/api/v1/households", other, apptest.HouseholdBody("DHA-9", "31036", ""))

	// Everything so far, in pages of two; other communes' households never appear.
	var seen []string
	var cursor string
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen, cursor = drain(t, h, worker, "", 2)
		if len(seen) == 3 || time.Now().After(deadline) {
			break // other tests' open transactions can hold the horizon back for a moment
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(seen) != 3 || !strings.HasPrefix(seen[0], "upsert:"+ids[0]) || !strings.HasPrefix(seen[2], "upsert:"+ids[2]) {
		t.Fatalf("initial sync: %v", seen)
	}

	// An update and an archive arrive after the cursor, in order; the archive is a tombstone.
	if w := apptest.SendWith(t, h, "PATCH", "/api/v1/households/"+ids[1], worker, map[string]string{"village": "Ấp Mới"}, map[string]string{"If-Match": `"1"`}); w.Code != 200 {
		t.Fatalf("update: %d", w.Code)
	}
	if w := apptest.SendWith(t, h, "POST", "/api/v1/households/"+ids[2]+"/archive", worker, map[string]string{"reason": "nhập hộ"}, map[string]string{"If-Match": `"1"`}); w.Code != 200 {
		t.Fatalf("archive: %d", w.Code)
	}
	deadline = time.Now().Add(10 * time.Second)
	var next []string
	for {
		next, _ = drain(t, h, worker, cursor, 1)
		if len(next) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(next) != 2 || next[0] != "upsert:"+ids[1]+":Ấp Mới" || next[1] != "archive:"+ids[2] {
		t.Fatalf("changes after the cursor: %v", next)
	}

	// A cursor the server did not issue: start over.
	w := apptest.Send(t, h, "GET", "/api/v1/sync/changes?cursor=garbage!", worker, nil)
	if w.Code != 410 || !strings.Contains(w.Body.String(), "sync_cursor_expired") {
		t.Fatalf("bad cursor: %d %s", w.Code, w.Body.String())
	}
	future := "eyJ4Ijo5OTk5OTk5OTk5LCJzIjoxfQ" // {"x":9999999999,"s":1}
	if w := apptest.Send(t, h, "GET", "/api/v1/sync/changes?cursor="+future, worker, nil); w.Code != 410 {
		t.Fatalf("a position beyond the log: %d", w.Code)
	}
}

// A change is not served while an older transaction is still open: once the
// feed moves past a position, nothing can commit behind it.
func TestSyncWaitsForOlderTransactions(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	h := a.Handler()
	apptest.CreateUser(t, a, "sync-wait", "commune_worker", "30791", false)
	worker := apptest.Login(t, h, "sync-wait", apptest.Password).AccessToken
	conn, err := a.DB().SQL().Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var xid string
	if err := tx.QueryRowContext(t.Context(), `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil { // an older writer, still open
		t.Fatal(err)
	}
	w := apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("SW-1", "30791", ""))
	if w.Code != 201 {
		t.Fatalf("create: %d", w.Code)
	}
	if seen, _ := drain(t, h, worker, "", 10); len(seen) != 0 {
		t.Fatalf("served past an open older transaction: %v", seen)
	}
	tx.Rollback()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen, _ := drain(t, h, worker, "", 10)
		if len(seen) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not served after the older transaction ended: %v", seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
