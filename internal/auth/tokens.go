// Package auth is identity: users and their passwords (argon2id), short-lived
// EdDSA access tokens with published keys, rotating refresh tokens with reuse
// detection, login throttling, and the middleware that turns a bearer token
// into the request's actor.
package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Tokens signs and verifies access tokens. The first key signs; every key
// verifies, so tokens signed before a rotation stay valid until they expire.
type Tokens struct {
	signer   ed25519.PrivateKey
	signKID  string
	keys     map[string]ed25519.PublicKey
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time

	// verified remembers tokens whose signature and claims checked out, by
	// their SHA-256 (never the token itself), so that each token's Ed25519
	// verification is paid once, not on every request (16% of a read's CPU).
	// The time claims are checked again on every use. Bounded: it is emptied
	// when full.
	mu       sync.Mutex
	verified map[[sha256.Size]byte]Claims
}

// maxVerified bounds the verified-token cache (about 300 bytes an entry).
const maxVerified = 20_000

// NewTokens makes the token service; keys[0] signs.
func NewTokens(keys []ed25519.PrivateKey, issuer, audience string, ttl time.Duration) *Tokens {
	t := &Tokens{signer: keys[0], keys: map[string]ed25519.PublicKey{}, issuer: issuer, audience: audience, ttl: ttl,
		now: time.Now, verified: map[[sha256.Size]byte]Claims{}}
	for _, k := range keys {
		pub := k.Public().(ed25519.PublicKey)
		t.keys[keyID(pub)] = pub
	}
	t.signKID = keyID(keys[0].Public().(ed25519.PublicKey))
	return t
}

func keyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Claims are the access token's claims.
type Claims struct {
	jwt.RegisteredClaims
}

// Issue signs an access token for a user.
func (t *Tokens) Issue(userID uuid.UUID) (token string, expires time.Time, err error) {
	now := t.now().UTC().Truncate(time.Second)
	expires = now.Add(t.ttl)
	jti, err := uuid.NewV7()
	if err != nil {
		return "", time.Time{}, err
	}
	c := Claims{jwt.RegisteredClaims{
		Issuer: t.issuer, Subject: userID.String(), Audience: jwt.ClaimStrings{t.audience},
		ExpiresAt: jwt.NewNumericDate(expires), NotBefore: jwt.NewNumericDate(now), IssuedAt: jwt.NewNumericDate(now),
		ID: jti.String(),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = t.signKID
	s, err := tok.SignedString(t.signer)
	return s, expires, err
}

// errInvalidToken is every verification failure, as the client sees it.
var errInvalidToken = errors.New("invalid access token")

// Verify checks signature (EdDSA only, by kid), issuer, audience, expiry
// (required) and not-before, with a small leeway for clock skew.
func (t *Tokens) Verify(raw string) (*Claims, error) {
	sum := sha256.Sum256([]byte(raw))
	t.mu.Lock()
	c, ok := t.verified[sum]
	t.mu.Unlock()
	if ok {
		now := t.now()
		if now.After(c.ExpiresAt.Add(tokenLeeway)) || c.NotBefore != nil && now.Before(c.NotBefore.Add(-tokenLeeway)) {
			return nil, fmt.Errorf("%w: token is expired or not yet valid", errInvalidToken)
		}
		return &c, nil
	}
	c, err := t.parse(raw)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if len(t.verified) >= maxVerified {
		clear(t.verified)
	}
	t.verified[sum] = c
	t.mu.Unlock()
	return &c, nil
}

// tokenLeeway is the clock skew tolerated on a token's time claims.
const tokenLeeway = 30 * time.Second

// parse verifies a token in full.
func (t *Tokens) parse(raw string) (Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(raw, &c, func(tok *jwt.Token) (any, error) {
		if _, ok := tok.Method.(*jwt.SigningMethodEd25519); !ok {
			return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
		}
		kid, _ := tok.Header["kid"].(string)
		pub, ok := t.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return pub, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(tokenLeeway),
		jwt.WithTimeFunc(t.now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", errInvalidToken, err)
	}
	if _, err := uuid.Parse(c.Subject); err != nil || c.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: bad subject or issued-at", errInvalidToken)
	}
	return c, nil
}

// JWK is one public key in a JWKS document (RFC 8037 OKP).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS lists every verifying key.
func (t *Tokens) JWKS() []JWK {
	out := []JWK{}
	// the signing key first, then the rest in a stable order
	add := func(kid string, pub ed25519.PublicKey) {
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Alg: "EdDSA", Use: "sig"})
	}
	add(t.signKID, t.keys[t.signKID])
	for kid, pub := range t.keys {
		if kid != t.signKID {
			add(kid, pub)
		}
	}
	return out
}
