package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/notify"
)

// gatewayUser makes a user who hears of work through the gateway only.
func gatewayUser(t *testing.T, a *app.App, name, role, area string) string {
	t.Helper()
	tok := user(t, a, name, role, area)
	apptest.Decode[notify.Settings](t, apptest.Send(t, a.Handler(), "PUT", "/api/v1/me/notifications", tok,
		map[string]any{"language": "vi", "email": false, "webhook": true, "muted_kinds": []string{}}), 200)
	return tok
}

// work writes a notification as the triggers do, for the work (of the
// kind's subject) at the unit.
func work(t *testing.T, a *app.App, kind, unit string) {
	t.Helper()
	subject, _, _ := strings.Cut(kind, "_")
	apptest.Exec(t, a.DB(), `SELECT notify_work(?, ?, gen_random_uuid(), (SELECT path FROM areas WHERE code = ? ORDER BY edition DESC LIMIT 1),
		false, NULL, NULL, 'BHYT')`, kind, subject, unit)
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
	work(t, a, "enrollment_proposed", "30791")
	work(t, a, "enrollment_proposed", "903")
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
		!strings.Contains(b.Text, "Đề nghị hỗ trợ chờ phê duyệt") || !strings.Contains(b.Text, "Chương trình: BHYT") ||
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
	work(t, a, "enrollment_returned", "914") // returned: for the commune's workers, none here
	work(t, a, "enrollment_proposed", "30791")
	drain(t, a)
	if n := len(down.hooks()); n != 4 {
		t.Fatalf("tried %d times; want max_attempts (4)", n)
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT string_agg(status || ' ' || attempts, ',') FROM notification_deliveries`); st != "failed 4" {
		t.Fatalf("deliveries: %q", st)
	}
	// Past the retention, a notification goes with its messages, unless one is still to send.
	work(t, a, "enrollment_proposed", "30791")
	apptest.Exec(t, a.DB(), `UPDATE notifications SET created_at = now() - interval '91 days'`)
	if n, err := a.Notifier().Prune(context.Background()); err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want the two fanned out (the returned one reached nobody)", n, err)
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
// earliest due date; work that comes after is another.
func TestWorkGathersIntoOneMessage(t *testing.T) {
	t.Parallel()
	mb := newMailbox(t)
	a := newApp(t, mb, nil)
	user(t, a, "gt-approver", "district_approver", "914")
	apptest.Exec(t, a.DB(), `SELECT notify_work('review_submitted', 'review', gen_random_uuid(), '91.914.30791', false, NULL,
		CURRENT_DATE + d, NULL) FROM unnest(ARRAY[5, 2, 9]) d`)
	drain(t, a)
	if st := apptest.Scalar[string](t, a.DB(), `SELECT count(*) || ' ' || count(gathered_into) FROM notifications`); st != "3 2" {
		t.Fatalf("gathered: %q; want 3 notifications, 2 gathered into the third", st)
	}
	work(t, a, "review_submitted", "30791")
	drain(t, a)
	got := mb.to("gt-approver@xa.gov.vn")
	if len(got) != 2 {
		t.Fatalf("%d messages; want 2", len(got))
	}
	if !contains(got[0].Subject, "Kết quả rà soát chờ công nhận (3)") || !contains(got[0].Text, "Có 3 việc mới", "Hạn xử lý sớm nhất",
		"https://ansinh.example/api/v1/inbox?kind=review_submitted") {
		t.Fatalf("the gathered message:\n%s\n%s", got[0].Subject, got[0].Text)
	}
	if contains(got[1].Subject, "(3)") || !contains(got[1].Text, "Số hiệu: BHYT") || !contains(got[1].Text, "/api/v1/reviews/") {
		t.Fatalf("the message after:\n%s\n%s", got[1].Subject, got[1].Text)
	}
}
