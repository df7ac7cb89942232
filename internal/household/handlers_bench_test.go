package household_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"
	"github.com/ansinh/ansinh/internal/platform/db/dbtest"
)

// The same requests as the load harness's register and read scenarios, sent
// to the handler in process (no network, no client): what the HTTP stack and
// the services cost beside what the load harness measures over loopback.
//
//	go test -run '^$' -bench BenchmarkHandlers -benchtime 5s ./internal/household/
func BenchmarkHandlers(b *testing.B) {
	a := apptest.NewOn(b, apptest.Config(b, dbtest.NewDatabase(b).AppURL, apptest.Unthrottled...))
	h := a.Handler()
	apptest.CreateUser(b, a, "bh-worker", "commune_worker", "30791", false)
	token := apptest.Login(b, h, "bh-worker", apptest.Password).AccessToken
	w := apptest.Send(b, h, "POST", "/api/v1/households", token, apptest.HouseholdBody("BH-0", "30791", ""))
	id := apptest.DecodeHousehold(b, w).ID
	// Pages that scan many households each, over a fixed set of 60: a list
	// page, a name search and a sync page (before register adds more).
	for i := range 59 {
		apptest.Send(b, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(fmt.Sprintf("BP-%d", i), "30791", ""))
	}
	for _, page := range []struct{ name, path string }{{"list", "/api/v1/households?limit=50"},
		{"search", "/api/v1/households?q=nguyen+van+an&limit=50"}, {"sync", "/api/v1/sync/changes?limit=100"}} {
		b.Run(page.name, func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := apptest.Send(b, h, "GET", page.path, token, nil); w.Code != 200 {
						b.Fatalf("%s: %d", page.name, w.Code)
					}
				}
			})
		})
	}
	var n atomic.Int64
	b.Run("register", func(b *testing.B) {
		b.SetParallelism(4) // 8 clients on 2 cores, as the harness
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if w := apptest.Send(b, h, "POST", "/api/v1/households", token, apptest.HouseholdBody(fmt.Sprintf("BH-%d", n.Add(1)), "30791", "")); w.Code != 201 {
					b.Fatalf("register: %d", w.Code)
				}
			}
		})
	})
	b.Run("read", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if w := apptest.Send(b, h, "GET", "/api/v1/households/"+id, token, nil); w.Code != 200 {
					b.Fatalf("read: %d", w.Code)
				}
			}
		})
	})
}
