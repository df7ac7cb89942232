package notify_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ansinh/ansinh/configs"
	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/notify"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/proctest"
)

// helperOptions are the dispatcher's options in the crash tests: webhooks
// to the gateway at url for area 914, a lease of a second.
func helperOptions(url string) notify.Options {
	authz, err := access.NewAuthorizer(configs.CasbinModel, configs.CasbinPolicy)
	if err != nil {
		panic(err)
	}
	e := []notify.Endpoint{{Name: "gw", Area: "914", URL: url, Secret: []byte(secret)}}
	return notify.Options{Senders: map[string]notify.Sender{notify.Webhook: notify.NewWebhookSender(e)}, Endpoints: e,
		Roles: func(resource, action string) []string {
			var out []string
			for _, r := range auth.Roles {
				if authz.Allows(r, resource, action) {
					out = append(out, r)
				}
			}
			return out
		}, MaxAttempts: 5, FirstBackoff: time.Millisecond, MaxBackoff: time.Millisecond, SendTimeout: 5 * time.Second,
		Retention: 24 * time.Hour, Lease: time.Second}
}

// The helper process of the crash tests. "commit": it commits a change
// that makes work (an enrollment proposed) and dies before any dispatcher
// runs. "send": it runs the dispatcher and dies between sending a message
// and marking it sent.
func init() {
	mode, url := os.Getenv("ANSINH_NOTIFY_HELPER"), os.Getenv("ANSINH_NOTIFY_HELPER_DB")
	if mode == "" {
		return
	}
	pool, err := db.Open(db.Options{URL: url, MaxOpenConns: 2})
	if err != nil {
		os.Exit(2)
	}
	ctx := context.Background()
	switch mode {
	case "commit":
		err = pool.Conn(ctx).Exec(`UPDATE enrollments SET state = 'proposed' WHERE id = ?`, os.Getenv("ANSINH_NOTIFY_HELPER_SUBJECT")).Error
		fmt.Println("committed", err)
	case "send":
		o := notify.WithAfterSend(helperOptions(os.Getenv("ANSINH_NOTIFY_HELPER_GATEWAY")), func(m notify.Message) {
			fmt.Println("sent", m.Key)
			select {} // until killed, before marking it
		})
		_, err = notify.NewDispatcher(pool, o).Step(ctx)
		fmt.Println("stepped", err) // not reached when it sent
	}
	select {} // until killed
}

// runHelper runs the helper in mode, kills it at its first line and
// returns the line.
func runHelper(t *testing.T, mode string, env ...string) string {
	t.Helper()
	return proctest.KillAtFirstLine(t, 30*time.Second, append(env, "ANSINH_NOTIFY_HELPER="+mode)...)
}

// A process that commits a change and dies before delivering anything
// leaves its notification in the outbox: a dispatcher started after
// delivers it, once. A dispatcher that dies after sending a message and
// before marking it leaves it to be sent again, with the same key, once the
// lease passes: the gateway gets it twice and, dropping the repeat by key,
// delivers it once; then it is marked sent and never sent again.
func TestCrashesLoseNoMessageAndRepeatOnlyByKey(t *testing.T) {
	t.Parallel()
	g := newGateway(t)
	a := newApp(t, newMailbox(t), nil)
	url := a.Config().Database.URL
	gatewayUser(t, a, "cr-approver", "district_approver", "914")
	worker := user(t, a, "cr-worker", "commune_worker", "30791")
	hh := apptest.Decode[struct {
		ID string `json:"id"`
	}](t, apptest.Send(t, a.Handler(), "POST", "/api/v1/households", worker, apptest.HouseholdBody("CR-1", "30791", "")), 201)
	// A returned enrollment, which the helper proposes again.
	subject := apptest.Scalar[string](t, a.DB(), `INSERT INTO enrollments (id, program_code, household_id, area_path, state, starts_on)
		SELECT gen_random_uuid(), 'bhyt_poor', h.id, h.area_path, 'returned', CURRENT_DATE FROM households h WHERE h.id = ? RETURNING id::text`, hh.ID)
	apptest.Exec(t, a.DB(), `DELETE FROM notifications`)

	if line := runHelper(t, "commit", "ANSINH_NOTIFY_HELPER_DB="+url, "ANSINH_NOTIFY_HELPER_SUBJECT="+subject); line != "committed <nil>" {
		t.Fatalf("helper: %q", line)
	}
	if n := apptest.Scalar[int](t, a.DB(), `SELECT count(*) FROM notifications WHERE kind = 'enrollment_proposed' AND subject_id = ?`, subject); n != 1 {
		t.Fatalf("%d notifications of the committed change", n)
	}
	// The next process sends it and dies before marking it.
	line := runHelper(t, "send", "ANSINH_NOTIFY_HELPER_DB="+url, "ANSINH_NOTIFY_HELPER_GATEWAY="+g.srv.URL)
	key, ok := strings.CutPrefix(line, "sent ")
	if !ok || len(g.hooks()) != 1 || g.hooks()[0].Key != key {
		t.Fatalf("helper: %q; gateway got %d", line, len(g.hooks()))
	}
	if st := apptest.Scalar[string](t, a.DB(), `SELECT status || ' ' || attempts FROM notification_deliveries WHERE id = ?`, key); st != "pending 1" {
		t.Fatalf("after the crash the delivery is %q", st)
	}
	// Before the lease passes, nobody sends it; after, it goes again.
	d := notify.NewDispatcher(a.DB(), helperOptions(g.srv.URL))
	if n, err := d.Step(context.Background()); err != nil || n != 0 {
		t.Fatalf("within the lease: tried %d, %v", n, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := d.Step(context.Background()); err != nil || n != 1 {
		t.Fatalf("after the lease: tried %d, %v", n, err)
	}
	if _, err := d.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := g.hooks()
	if len(got) != 2 || got[1].Key != key || len(g.keys()) != 1 {
		t.Fatalf("the gateway got %d requests with %d keys; want the same key twice", len(got), len(g.keys()))
	}
	verify(t, got[1])
	if st := apptest.Scalar[string](t, a.DB(), `SELECT status || ' ' || attempts FROM notification_deliveries WHERE id = ?`, key); st != "sent 2" {
		t.Fatalf("the delivery is %q; want sent 2", st)
	}
}
