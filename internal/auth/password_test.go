package auth

import (
	"strings"
	"testing"
)

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("mật khẩu dài đủ")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q: %v", h, err)
	}
	if ok, err := CheckPassword(h, "mật khẩu dài đủ"); !ok || err != nil {
		t.Fatal("the right password must match")
	}
	if ok, _ := CheckPassword(h, "mật khẩu dài đu"); ok {
		t.Fatal("a wrong password must not match")
	}
	if h2, _ := HashPassword("mật khẩu dài đủ"); h2 == h {
		t.Fatal("hashes must be salted")
	}
	if ok, err := CheckPassword(dummyHash, "anything"); ok || err != nil {
		t.Fatalf("the timing equaliser must be a well-formed hash that matches nothing likely: %v", err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=1,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$!!$aGFzaA", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("%q must be refused as malformed", bad)
		}
	}
}
