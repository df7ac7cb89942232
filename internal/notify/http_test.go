package notify_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/notify"
)

// A user's preferences through the API: the defaults (email on, to their
// own address; the gateway off), a replacement refused field by field, one
// accepted (normalized, audited, read back), and where each channel now
// sends; only the signed-in user's own.
func TestPreferencesThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := newApp(t, newMailbox(t), map[string]*gateway{"91": newGateway(t)})
	h := a.Handler()
	tok := user(t, a, "pf-worker", "commune_worker", "30791")
	if w := apptest.Send(t, h, "GET", "/api/v1/me/notifications", "", nil); w.Code != 401 {
		t.Fatalf("anonymous: %d", w.Code)
	}
	st := apptest.Decode[notify.Settings](t, apptest.Send(t, h, "GET", "/api/v1/me/notifications", tok, nil), 200)
	if st.Language != "vi" || !st.Email || st.Webhook || st.EmailAddress != nil || len(st.MutedKinds) != 0 ||
		st.DeliversTo["email"] != "pf-worker@xa.gov.vn" || len(st.DeliversTo) != 1 || !slices.Contains(st.Kinds, "complaint_to_accept") {
		t.Fatalf("defaults: %+v", st)
	}
	w := apptest.Send(t, h, "PUT", "/api/v1/me/notifications", tok, map[string]any{"language": "fr", "email": true,
		"email_address": "Tên <a@b.vn>", "webhook": true, "webhook_address": "12", "muted_kinds": []string{"card_expiring"}})
	for _, f := range []string{"language", "email_address", "webhook_address", "muted_kinds"} {
		if w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"`+f+`"`) {
			t.Fatalf("a bad replacement (%s): %d %s", f, w.Code, w.Body)
		}
	}
	if n := apptest.CountEvents(t, a, "notification_preferences.update"); n != 0 {
		t.Fatalf("%d events of a refused change", n)
	}
	st = apptest.Decode[notify.Settings](t, apptest.Send(t, h, "PUT", "/api/v1/me/notifications", tok, map[string]any{"language": "en",
		"email": false, "email_address": "can.bo@xa.gov.vn", "webhook": true, "webhook_address": "091 234 5678",
		"muted_kinds": []string{"import_problems"}}), 200)
	if st.Language != "en" || st.Email || st.WebhookAddress == nil || *st.WebhookAddress != "0912345678" ||
		st.DeliversTo["webhook"] != "0912345678" || st.DeliversTo["email"] != "" || !slices.Equal(st.MutedKinds, []string{"import_problems"}) {
		t.Fatalf("stored: %+v", st)
	}
	if got := apptest.Decode[notify.Settings](t, apptest.Send(t, h, "GET", "/api/v1/me/notifications", tok, nil), 200); got.Language != "en" ||
		*got.EmailAddress != "can.bo@xa.gov.vn" {
		t.Fatalf("read back: %+v", got)
	}
	if n := apptest.CountEvents(t, a, "notification_preferences.update"); n != 1 {
		t.Fatalf("%d events of the change; want 1", n)
	}
}
