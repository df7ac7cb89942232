package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/notify"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// secret is the test gateways' signing secret.
const secret = "test-gateway-secret-of-32-characters!"

// newApp is an App whose notifier sends email to mb and webhooks to the
// gateways (by area code), gathering nothing and retrying at once.
func newApp(t *testing.T, mb *mailbox, gateways map[string]*gateway) *app.App {
	t.Helper()
	d := dbtest.NewDatabase(t)
	var hooks []map[string]string
	for area, g := range gateways {
		hooks = append(hooks, map[string]string{"name": "gw-" + area, "area": area, "url": g.srv.URL, "secret": secret})
	}
	hooksJSON, _ := json.Marshal(hooks)
	return apptest.NewOn(t, apptest.Config(t, d.AppURL, "ANSINH_NOTIFY_SMTP_HOST", "127.0.0.1",
		"ANSINH_NOTIFY_SMTP_PORT", strconv.Itoa(mb.addr.Port), "ANSINH_NOTIFY_SMTP_TLS", "none", "ANSINH_NOTIFY_GATHER", "0s",
		"ANSINH_NOTIFY_FIRST_BACKOFF", "1ms", "ANSINH_NOTIFY_MAX_BACKOFF", "5ms", "ANSINH_NOTIFY_MAX_ATTEMPTS", "4",
		"ANSINH_NOTIFY_LINK_BASE", "https://ansinh.example", "ANSINH_NOTIFY_WEBHOOKS", string(hooksJSON)))
}

// user makes a user with one role and an email address, and their token.
func user(t *testing.T, a *app.App, name, role, area string) string {
	t.Helper()
	id := apptest.CreateUser(t, a, name, role, area, false)
	apptest.Exec(t, a.DB(), `UPDATE users SET email = ?, phone = '0912000' || lpad(?, 3, '0') WHERE id = ?`,
		name+"@xa.gov.vn", strconv.Itoa(int(id[15])), id)
	return apptest.Login(t, a.Handler(), name, apptest.Password).AccessToken
}

// drain steps the notifier until nothing is due (retries come within ms).
func drain(t *testing.T, a *app.App) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := a.Notifier().Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		if apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM notification_deliveries WHERE status = 'pending'`) == 0 &&
			apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM notifications WHERE fanned_out_at IS NULL`) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("notifications still pending after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A complaint received through the API is one notification, written with
// it (a refused intake writes none); it reaches by email the commune's
// other workers, who act on it there, in each one's language and as each
// chose: not the worker who received it, not another commune, not the
// district (a complaint is settled at first instance by the commune), not
// one without an address nor one who muted the kind. The message names the
// work, the unit, the reference and the due date and links to it, and
// carries nothing about the person; its idempotency key is its Message-ID.
// Stepping again sends nothing; accepting it notifies again, of the settling.
func TestComplaintNotifiesThoseWhoAct(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	a := newApp(t, mb, nil)
	h := a.Handler()
	worker := user(t, a, "nt-worker", "commune_worker", "30791")
	colleague := user(t, a, "nt-colleague", "commune_worker", "30791")
	english := user(t, a, "nt-english", "commune_worker", "30791")
	muted := user(t, a, "nt-muted", "commune_worker", "30791")
	user(t, a, "nt-noaddress", "commune_worker", "30791")
	apptest.Exec(t, a.DB(), `UPDATE users SET email = NULL WHERE username = 'nt-noaddress'`)
	user(t, a, "nt-other", "commune_worker", "31036")
	user(t, a, "nt-district", "district_approver", "914")
	user(t, a, "nt-auditor", "province_auditor", "91")
	for tok, body := range map[string]map[string]any{
		english: {"language": "en", "email": true, "webhook": false, "muted_kinds": []string{}},
		muted:   {"language": "vi", "email": true, "webhook": false, "muted_kinds": []string{"complaint_to_accept"}},
	} {
		apptest.Decode[notify.Settings](t, apptest.Send(t, h, "PUT", "/api/v1/me/notifications", tok, body), 200)
	}
	_ = colleague
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("NT-1", "30791", "")), 201)
	if w := apptest.Send(t, h, "POST", "/api/v1/complaints", worker, map[string]any{"household_id": hh.ID, "channel": "fax"}); w.Code != 422 {
		t.Fatalf("a bad intake: %d %s", w.Code, w.Body)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM notifications`); n != 0 {
		t.Fatalf("%d notifications before any work", n)
	}
	c := apptest.Decode[struct {
		ID, Reference string
		AcceptBy      string `json:"accept_by"`
		Version       int
	}](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, map[string]any{"household_id": hh.ID, "channel": "in_person",
		"complainant_name": "Trần Thị Bích", "subject_kind": "classification", "content": "Hộ tôi bị đưa ra khỏi danh sách hộ nghèo không đúng"}), 201)
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM notifications WHERE kind = 'complaint_to_accept' AND subject_id = ?`, c.ID); n != 1 {
		t.Fatalf("%d notifications of the complaint", n)
	}
	drain(t, a)

	got := map[string]received{}
	for _, m := range mb.all() {
		got[m.To] = m
	}
	if len(got) != 2 || len(mb.all()) != 2 {
		t.Fatalf("mail went to %v; want nt-colleague and nt-english once each", keys(got))
	}
	vi, en := got["nt-colleague@xa.gov.vn"], got["nt-english@xa.gov.vn"]
	due := c.AcceptBy[8:10] + "/" + c.AcceptBy[5:7] + "/" + c.AcceptBy[:4]
	link := "https://ansinh.example/api/v1/complaints/" + c.ID
	if !contains(vi.Subject, "Khiếu nại cần thụ lý", "30791") || !contains(vi.Text, c.Reference, "Hạn xử lý: "+due, link, "/api/v1/me/notifications") {
		t.Fatalf("the Vietnamese message:\n%s\n%s", vi.Subject, vi.Text)
	}
	if !contains(en.Subject, "Complaint to accept or refuse") || !contains(en.Text, "Reference: "+c.Reference, "Due: "+c.AcceptBy, link) {
		t.Fatalf("the English message:\n%s\n%s", en.Subject, en.Text)
	}
	for _, m := range []received{vi, en} {
		key := m.Header.Get("X-Ansinh-Idempotency-Key")
		if m.Header.Get("Message-ID") != "<"+key+"@ansinh>" || apptest.Scalar[string](t, a.DB(),
			`SELECT status FROM notification_deliveries WHERE id = ?`, key) != "sent" {
			t.Fatalf("message %s: its key is not its delivery's, or it is not marked sent", m.Header.Get("Message-ID"))
		}
		if contains(m.Subject+m.Text, "Trần") || contains(m.Subject+m.Text, "Nguyễn") || contains(m.Text, "danh sách hộ nghèo") {
			t.Fatalf("a message carries personal data:\n%s", m.Text)
		}
	}
	drain(t, a)
	if len(mb.all()) != 2 {
		t.Fatalf("a second step sent again: %d messages", len(mb.all()))
	}

	// Accepted: now it is to settle, at the same unit, for those who decide there.
	today := time.Now().In(time.FixedZone("ICT", 7*3600)).Format(time.DateOnly)
	apptest.Decode[map[string]any](t, apptest.SendWith(t, h, "POST", "/api/v1/complaints/"+c.ID+"/accept", colleague,
		map[string]any{"accepted_on": today}, map[string]string{"If-Match": fmt.Sprintf(`"%d"`, c.Version)}), 200)
	drain(t, a)
	settle := 0
	for _, m := range mb.all() {
		if strings.Contains(m.Subject, "Khiếu nại cần giải quyết") || strings.Contains(m.Subject, "Complaint to settle") {
			settle++
			if m.To == "nt-colleague@xa.gov.vn" {
				t.Fatal("the worker who accepted it is told of it")
			}
		}
	}
	// nt-muted muted another kind: they hear of this one.
	if settle != 3 {
		t.Fatalf("%d messages of settling; want 3 (nt-worker, nt-english, nt-muted)", settle)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// verify checks a webhook's signature as a gateway would.
func verify(t *testing.T, hk hook) {
	t.Helper()
	ts, mac, ok := strings.Cut(strings.TrimPrefix(hk.Signature, "t="), ",v1=")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(hk.Raw)
	if !ok || !hmac.Equal([]byte(mac), []byte(hex.EncodeToString(m.Sum(nil)))) {
		t.Fatalf("signature %q does not verify", hk.Signature)
	}
	if hk.Key != hk.Body.ID || hk.Key == "" {
		t.Fatalf("Idempotency-Key %q, body id %q", hk.Key, hk.Body.ID)
	}
}
