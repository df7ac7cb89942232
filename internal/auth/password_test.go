package auth

import (
	"strings"
	"testing"
)

func TestPasswordHashing(t *testing.T) {
	pw, err := newPasswords(DefaultPasswordCost)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pw.hash("mật khẩu dài đủ")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: %v", h, err)
	}
	if ok, err := CheckPassword(h, "mật khẩu dài đủ"); !ok || err != nil {
		t.Fatal("the right password must match")
	}
	if ok, _ := CheckPassword(h, "mật khẩu dài đu"); ok {
		t.Fatal("a wrong password must not match")
	}
	if h2, _ := pw.hash("mật khẩu dài đủ"); h2 == h {
		t.Fatal("hashes must be salted")
	}
	if ok, err := CheckPassword(pw.dummy, "anything"); ok || err != nil || !strings.HasPrefix(pw.dummy, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("the timing equaliser must be a well-formed hash of the same cost that matches nothing likely: %q %v", pw.dummy, err)
	}
	cheap, err := newPasswords(PasswordCost{MemoryKiB: 64, Passes: 1})
	if h, err2 := cheap.hash("x"); err != nil || err2 != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") ||
		!strings.HasPrefix(cheap.dummy, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("a configured cost is the cost of new hashes and of the equaliser: %q %v %v", h, err, err2)
	}
	if _, err := newPasswords(PasswordCost{MemoryKiB: 4, Passes: 1}); err == nil {
		t.Fatal("a cost below Argon2id's minimum must be refused")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=1,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("%q must be refused as malformed", bad)
		}
	}
}
