package notify_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/notify"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// gatewayUser makes a user who hears of work through the gateway only.
func gatewayUser(t *testing.T, a *app.App, name, role, area string) string {
	t.Helper()
	tok := user(t, a, name, role, area)
	apptest.Decode[notify.Settings](t, apptest.Send(t, a.Handler(), "PUT", "/api/v1/me/notifications", tok,
		map[string]any{"language": "vi", "email": false, "webhook": true, "muted_kinds": []string{}}), 200)
	return tok
}

// proposed writes an enrollment proposed for a new household of the
// commune, as a worker would (the trigger writes its notification), and
// returns its id.
func proposed(t *testing.T, a *app.App, commune string) string {
	t.Helper()
	return apptest.Scalar[string](t, a.DB(), `WITH h AS (INSERT INTO households (id, code, commune_edition, commune_code, area_path, village, area_type)
			SELECT gen_random_uuid(), 'NT-' || substr(md5(random()::text), 1, 10), a.edition, a.code, a.path, 'Ấp 1', 'rural'
			FROM areas a WHERE a.code = ? AND a.edition = '2025-03' RETURNING id, area_path)
		INSERT INTO enrollments (id, program_code, household_id, area_path, state, starts_on)
		SELECT gen_random_uuid(), 'bhyt_poor', h.id, h.area_path, 'proposed', CURRENT_DATE FROM h RETURNING id::text`, commune)
}

// A gateway that fails twice (503) and then recovers gets the message three
// times with one idempotency key, signed each time, and the message is
// marked sent after its third attempt; the most local gateway is the one
// used. A gateway that refuses the message itself (400) is not retried: the
// message fails at once, with the answer recorded.
func TestWebhookRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	district, province, refusing := newGateway(t, 503, 503), newGateway(t), newGateway(t, 400)
	a := newApp(t, newMailbox(t), map[string]*gateway{"914": district, "91": province, "903": refusing})
	gatewayUser(t, a, "wh-approver", "district_approver", "914")
	gatewayUser(t, a, "wh-refused", "district_approver", "903")
	proposed(t, a, "30791")
	proposed(t, a, apptest.Scalar[string](t, a.DB(), `SELECT code FROM areas WHERE path <@ '91.903' AND level = 'commune' ORDER BY code LIMIT 1`))
	drain(t, a)

	got := district.hooks()
	if len(got) != 3 || len(province.hooks()) != 0 {
		t.Fatalf("the district's gateway got %d requests, the province's %d; want 3 and 0", len(got), len(province.hooks()))
	}
	for _, hk := range got {
		verify(t, hk)
		if hk.Key != got[0].Key {
			t.Fatalf("keys differ across retries: %s, %s", got[0].Key, hk.Key)
		}
	}
	b := got[2].Body
	if b.Kind != "enrollment_proposed" || b.Items != 1 || b.AreaCode != "30791" || b.Language != "vi" || !strings.HasPrefix(b.To, "0912000") ||
		!strings.Contains(b.Text, "Đề nghị hỗ trợ chờ phê duyệt") || !strings.Contains(b.Text, "Chương trình: bhyt_poor") ||
		!strings.HasPrefix(b.Link, "https://ansinh.example/api/v1/enrollments/") {
		t.Fatalf("the gateway's message: %+v", b)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT status || ' ' || attempts FROM notification_deliveries WHERE id = ?`, got[0].Key); st != "sent 3" {
		t.Fatalf("the delivery is %q; want sent after 3 attempts", st)
	}
	if n := len(refusing.hooks()); n != 1 {
		t.Fatalf("the refusing gateway was tried %d times; want 1", n)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT status || ' ' || attempts || ' ' || last_error FROM notification_deliveries
		WHERE endpoint = 'gw-903'`); !strings.HasPrefix(st, "failed 1 ") || !strings.Contains(st, "400") {
		t.Fatalf("the refused delivery is %q", st)
	}
}

// A gateway that never recovers is tried max_attempts times, with waits
// that double (capped), and the message is then failed.
func TestWebhookGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	down := newGateway(t, 503, 503, 503, 503, 503, 503)
	a := newApp(t, newMailbox(t), map[string]*gateway{"914": down})
	gatewayUser(t, a, "wh-down", "district_approver", "914")
	proposed(t, a, "30791")
	drain(t, a)
	if n := len(down.hooks()); n != 4 {
		t.Fatalf("tried %d times; want max_attempts (4)", n)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(status || ' ' || attempts, ',') FROM notification_deliveries`); st != "failed 4" {
		t.Fatalf("deliveries: %q", st)
	}
	// Past the retention, a notification goes with its messages, unless one is still to send.
	proposed(t, a, "30791")
	apptest.Exec(t, a.DB(), `UPDATE notifications SET created_at = now() - interval '91 days'`)
	if n, err := a.Notifier().Prune(context.Background()); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want the one fanned out", n, err)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT count(*) || ' ' || count(fanned_out_at) FROM notifications`); st != "1 0" {
		t.Fatalf("left: %q; want the one not yet fanned out", st)
	}
	for i, want := range []time.Duration{10, 20, 40, 80, 80} {
		if got := notify.Backoff(i+1, 10*time.Second, 80*time.Second); got != want*time.Second {
			t.Fatalf("backoff after attempt %d: %s; want %s", i+1, got, want*time.Second)
		}
	}
}

// Work of one kind at one unit waiting together when the dispatcher comes
// is one message that says how many and links to the inbox, with the
// earliest due date; work done before the dispatcher came is not told of;
// work that comes after is another message.
func TestWorkGathersIntoOneMessage(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	a := newApp(t, mb, nil)
	h := a.Handler()
	worker := user(t, a, "gt-worker", "commune_worker", "30791")
	user(t, a, "gt-colleague", "commune_worker", "30791")
	user(t, a, "gt-approver", "district_approver", "914")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("GT-1", "30791", "")), 201)
	today := vn.Today(time.Now())
	complain := func(daysAgo int) string {
		return apptest.Decode[struct{ ID string }](t, apptest.Send(t, h, "POST", "/api/v1/complaints", worker, map[string]any{
			"household_id": hh.ID, "channel": "phone", "subject_kind": "classification", "complainant_name": "Lê Văn Cường",
			"received_on": today.AddDate(0, 0, -daysAgo).Format(time.DateOnly), "content": "Khiếu nại lần " + strconv.Itoa(daysAgo)}), 201).ID
	}
	complain(5)
	complain(9) // accept by: 10 days after receipt, so tomorrow
	complain(2)
	// A proposal rejected before the dispatcher came: nobody hears of it.
	rejected := proposed(t, a, "30791")
	apptest.Exec(t, a.DB(), `UPDATE enrollments SET state = 'rejected' WHERE id = ?`, rejected)
	drain(t, a)
	if n := len(mb.to("gt-approver@xa.gov.vn")); n != 0 || apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM notifications n
		JOIN notification_deliveries d ON d.notification_id = n.id WHERE n.subject_id = ?`, rejected) != 0 {
		t.Fatalf("the approver heard of a rejected proposal (%d messages)", n)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT count(*) || ' ' || count(gathered_into) || ' ' || count(fanned_out_at)
		FROM notifications WHERE kind = 'complaint_to_accept'`); st != "3 2 3" {
		t.Fatalf("gathered: %q; want 3 notifications, 2 gathered into the third", st)
	}
	complain(0)
	drain(t, a)
	got := mb.to("gt-colleague@xa.gov.vn")
	if len(got) != 2 {
		t.Fatalf("%d messages; want 2", len(got))
	}
	due := today.AddDate(0, 0, 1).Format("02/01/2006")
	if !contains(got[0].Subject, "Khiếu nại cần thụ lý (3)") || !contains(got[0].Text, "Có 3 việc mới", "Hạn xử lý sớm nhất: "+due,
		"https://ansinh.example/api/v1/inbox?kind=complaint_to_accept") || contains(got[0].Text, "Số hiệu") {
		t.Fatalf("the gathered message:\n%s\n%s", got[0].Subject, got[0].Text)
	}
	if contains(got[1].Subject, "(3)") || !contains(got[1].Text, "Số hiệu: KN-30791-", "/api/v1/complaints/") {
		t.Fatalf("the message after:\n%s\n%s", got[1].Subject, got[1].Text)
	}
}

// A mail server that refuses a recipient for good (550 at RCPT) fails that
// message at once; one that refuses the sender (530 at MAIL: it wants TLS,
// or a password that was rotated) is the server's trouble, not the
// message's: retried, then sent once the server is mended.
func TestEmailRefusals(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	a := newApp(t, mb, nil)
	user(t, a, "em-approver", "district_approver", "914")
	user(t, a, "gone-approver", "district_approver", "914")
	apptest.Exec(t, a.DB(), `UPDATE users SET email = 'gone@xa.gov.vn' WHERE username = 'gone-approver'`)
	mb.mu.Lock()
	mb.mailRefusal = &smtp.SMTPError{Code: 530, Message: "must issue STARTTLS first"}
	mb.mu.Unlock()
	proposed(t, a, "30791")
	for range 3 {
		if _, err := a.Notifier().Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(status, ',') FROM notification_deliveries`); st != "pending,pending" {
		t.Fatalf("with the server refusing the sender: %q; want both pending", st)
	}
	mb.mu.Lock()
	mb.mailRefusal = nil
	mb.mu.Unlock()
	drain(t, a)
	if st := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(address || ' ' || status, ',' ORDER BY address) FROM notification_deliveries`); st != "em-approver@xa.gov.vn sent,gone@xa.gov.vn failed" {
		t.Fatalf("after the server is mended: %q", st)
	}
	if n := len(mb.all()); n != 1 {
		t.Fatalf("%d messages received; want 1", n)
	}
}

// A dispatcher without a channel (a replica configured otherwise, the mail
// server removed) leaves that channel's messages to those that have it.
func TestMessagesOfAChannelNotConfiguredWait(t *testing.T) {
	t.Parallel()
	a := newApp(t, newMailbox(t), nil)
	user(t, a, "nc-approver", "district_approver", "914")
	proposed(t, a, "30791")
	webhookOnly := notify.NewDispatcher(a.DB(), helperOptions("http://127.0.0.1:1"))
	if _, err := webhookOnly.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	// An email written by a replica that has the channel.
	apptest.Exec(t, a.DB(), `INSERT INTO notification_deliveries (id, notification_id, user_id, channel, address, language)
		SELECT gen_random_uuid(), n.id, u.id, 'email', u.email, 'vi' FROM notifications n, users u WHERE u.username = 'nc-approver'`)
	if _, err := webhookOnly.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(channel || ' ' || status || ' ' || attempts, ',') FROM notification_deliveries`); st != "email pending 0" {
		t.Fatalf("the email waits untouched: %q", st)
	}
}

// A message whose recipient was disabled after it was written (a retry can
// come an hour later) is not sent: it fails, saying why.
func TestNoMessageToADisabledUser(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	a := newApp(t, mb, nil)
	user(t, a, "du-approver", "district_approver", "914")
	user(t, a, "du-left", "district_approver", "914")
	mb.mu.Lock()
	mb.mailRefusal = &smtp.SMTPError{Code: 451, Message: "try again later"}
	mb.mu.Unlock()
	proposed(t, a, "30791")
	if _, err := a.Notifier().Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	apptest.Exec(t, a.DB(), `UPDATE users SET status = 'disabled' WHERE username = 'du-left'`)
	mb.mu.Lock()
	mb.mailRefusal = nil
	mb.mu.Unlock()
	drain(t, a)
	if st := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(address || ' ' || status || ' ' || coalesce(last_error, ''), ',' ORDER BY address)
		FROM notification_deliveries`); st != "du-approver@xa.gov.vn sent ,du-left@xa.gov.vn failed refused permanently: the recipient's account is disabled" {
		t.Fatalf("deliveries: %q", st)
	}
	if n := len(mb.all()); n != 1 {
		t.Fatalf("%d messages; want 1", n)
	}
}

// An objection raised while a review's list is posted reaches the
// commune's workers, due by the posting's end.
func TestObjectionNotified(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	a := newApp(t, mb, nil)
	h := a.Handler()
	worker := user(t, a, "ob-worker", "commune_worker", "30791")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/households", worker, apptest.HouseholdBody("OB-1", "30791", "")), 201)
	rv := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, h, "POST", "/api/v1/reviews", worker, map[string]any{"kind": "regular", "commune_code": "30791",
		"household_id": hh.ID}), 201)
	end := vn.Today(time.Now()).AddDate(0, 0, 3)
	apptest.Exec(t, a.DB(), `UPDATE reviews SET state = 'posted', posting_end = ? WHERE id = ?`, end, rv.ID)
	drain(t, a) // the review's own notification
	before := len(mb.to("ob-worker@xa.gov.vn"))
	apptest.Exec(t, a.DB(), `INSERT INTO review_objections (id, review_id, household_id, raised_by, raised_on, content)
		VALUES (gen_random_uuid(), ?, ?, 'Ông Tư', CURRENT_DATE, 'Hộ tôi không được vào danh sách')`, rv.ID, hh.ID)
	drain(t, a)
	got := mb.to("ob-worker@xa.gov.vn")
	if len(got) != before+1 || !contains(got[len(got)-1].Subject, "Khiếu nại, thắc mắc chưa giải quyết") ||
		!contains(got[len(got)-1].Text, "Hạn xử lý: "+end.Format("02/01/2006")) || contains(got[len(got)-1].Text, "Ông Tư") {
		t.Fatalf("messages: %d (before %d); last: %+v", len(got), before, got[len(got)-1])
	}
}
