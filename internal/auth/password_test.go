package auth

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestPasswordHashing(t *testing.T) {
	pw, err := newPasswords(DefaultPasswordCost, 0)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pw.hash(t.Context(), "mật khẩu dài đủ")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: %v", h, err)
	}
	if ok, err := CheckPassword(h, "mật khẩu dài đủ"); !ok || err != nil {
		t.Fatal("the right password must match")
	}
	if ok, _ := CheckPassword(h, "mật khẩu dài đu"); ok {
		t.Fatal("a wrong password must not match")
	}
	if h2, _ := pw.hash(t.Context(), "mật khẩu dài đủ"); h2 == h {
		t.Fatal("hashes must be salted")
	}
	if ok, err := CheckPassword(pw.dummy, "anything"); ok || err != nil || !strings.HasPrefix(pw.dummy, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("the timing equaliser must be a well-formed hash of the same cost that matches nothing likely: %q %v", pw.dummy, err)
	}
	cheap, err := newPasswords(PasswordCost{MemoryKiB: 64, Passes: 1}, 0)
	if h, err2 := cheap.hash(t.Context(), "x"); err != nil || err2 != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") ||
		!strings.HasPrefix(cheap.dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("a configured cost is the cost of new hashes and of the equaliser: %q %v %v", h, err, err2)
	}
	if _, err := newPasswords(PasswordCost{MemoryKiB: 4, Passes: 1}, 0); err == nil {
		t.Fatal("a cost below Argon2id's minimum must be refused")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=1,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("%q must be refused as malformed", bad)
		}
	}
}

// The equaliser is made without a hash: a hash at the production cost
// leaves 19 MiB in the heap of a server that has not yet signed anyone in.
func TestPasswordsStartWithoutHashing(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	pw, err := newPasswords(DefaultPasswordCost, 1)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Fatalf("newPasswords allocated %d bytes; the equaliser needs no Argon2id memory", grew)
	}
	if ok, err := pw.check(t.Context(), pw.dummy, ""); ok || err != nil {
		t.Fatalf("the equaliser must be checkable and match nothing: %v %v", ok, err)
	}
}

// At most the configured number of hashes run at once; a caller who cannot
// get a slot before its deadline gets the deadline's error, not a hash.
func TestPasswordsBoundTheHashesAtOnce(t *testing.T) {
	pw, err := newPasswords(PasswordCost{MemoryKiB: 64, Passes: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pw.hash(t.Context(), "mật khẩu dài đủ")
	if err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = pw.run(t.Context(), func() { close(held); <-release })
	}()
	<-held
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if ok, err := pw.check(ctx, h, "mật khẩu dài đủ"); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a check while the only slot is held must wait out its deadline: %v %v", ok, err)
	}
	if _, err := pw.hash(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hash while the only slot is held must wait out its deadline: %v", err)
	}
	close(release)
	if ok, err := pw.check(t.Context(), h, "mật khẩu dài đủ"); !ok || err != nil {
		t.Fatalf("once the slot is free the check runs: %v %v", ok, err)
	}
}
