package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A verified token is remembered by its hash: the second use skips the
// signature check but not the time claims, and a token changed by one byte
// is never served from memory.
func TestVerifiedTokenCache(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	tok := NewTokens([]ed25519.PrivateKey{key}, "ansinh", "ansinh-api", 15*time.Minute)
	now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	tok.now = func() time.Time { return now }
	user := uuid.Must(uuid.NewV7())
	raw, _, err := tok.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c, err := tok.Verify(raw)
		if err != nil || c.Subject != user.String() {
			t.Fatalf("use %d: %v %+v", i, err, c)
		}
	}
	if len(tok.verified) != 1 {
		t.Fatalf("%d cached verifications, want 1", len(tok.verified))
	}
	tampered := raw[:len(raw)-2] + map[bool]string{true: "AA", false: "BB"}[raw[len(raw)-2:] != "AA"]
	if _, err := tok.Verify(tampered); !errors.Is(err, errInvalidToken) {
		t.Fatalf("a tampered token: %v", err)
	}
	now = now.Add(15*time.Minute + tokenLeeway + time.Second)
	if _, err := tok.Verify(raw); !errors.Is(err, errInvalidToken) {
		t.Fatalf("an expired cached token: %v", err)
	}
	// Full, the cache starts over rather than growing.
	for range maxVerified + 1 {
		tok.verified[[32]byte{byte(len(tok.verified)), byte(len(tok.verified) >> 8), byte(len(tok.verified) >> 16)}] = Claims{}
	}
	now = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	fresh, _, _ := tok.Issue(user)
	if _, err := tok.Verify(fresh); err != nil || len(tok.verified) != 1 {
		t.Fatalf("after filling: %v, %d entries", err, len(tok.verified))
	}
}
