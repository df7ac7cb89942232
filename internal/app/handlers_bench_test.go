package app_test

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// The same requests as the load harness's register and read scenarios, sent
// to the handler in process (no network, no client): what the HTTP stack and
// the services cost beside what the load harness measures over loopback.
//
//	go test -run '^$' -bench BenchmarkHandlers -benchtime 5s ./internal/app/
func BenchmarkHandlers(b *testing.B) {
	a := newApp(b)
	h := a.Handler()
	createUser(b, a, "bh-worker", "commune_worker", "30791", false)
	token := login(b, h, "bh-worker", testPassword).AccessToken
	w := send(b, h, "POST", "/api/v1/households", token, householdBody("BH-0", "30791", ""))
	id := decodeHousehold(b, w).ID
	var n atomic.Int64
	b.Run("register", func(b *testing.B) {
		b.SetParallelism(4) // 8 clients on 2 cores, as the harness
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if w := send(b, h, "POST", "/api/v1/households", token, householdBody(fmt.Sprintf("BH-%d", n.Add(1)), "30791", "")); w.Code != 201 {
					b.Fatalf("register: %d", w.Code)
				}
			}
		})
	})
	b.Run("read", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if w := send(b, h, "GET", "/api/v1/households/"+id, token, nil); w.Code != 200 {
					b.Fatalf("read: %d", w.Code)
				}
			}
		})
	})
}
