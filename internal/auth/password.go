package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for new hashes other than their cost. Each hash records
// its own parameters, so the cost can rise without breaking old hashes.
const (
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// PasswordCost is the Argon2id cost of new password hashes.
type PasswordCost struct {
	MemoryKiB uint32
	Passes    uint32
}

// DefaultPasswordCost is OWASP's minimum for Argon2id: 19 MiB, 2 passes.
// Production refuses less (internal/config); tests use far less, because a
// hash at this cost is most of the CPU a test spends signing a user in.
var DefaultPasswordCost = PasswordCost{MemoryKiB: 19 * 1024, Passes: 2}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// hashPassword returns an argon2id hash in the PHC string format.
func hashPassword(password string, cost PasswordCost) (string, error) {
	if err := cost.check(); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return phc(cost, salt, argon2.IDKey([]byte(password), salt, cost.Passes, cost.MemoryKiB, argonThreads, argonKeyLen)), nil
}

func (c PasswordCost) check() error {
	if c.MemoryKiB < 8*argonThreads || c.Passes == 0 {
		return fmt.Errorf("auth: password cost %+v is below Argon2id's minimum", c)
	}
	return nil
}

// phc is the PHC string of an argon2id key of this package's shape.
func phc(cost PasswordCost, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, cost.MemoryKiB, cost.Passes, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// passwords makes and checks hashes, at most slots at once: each holds its
// cost's memory (19 MiB in production) while it runs, so a burst of
// sign-ins cannot take the process's memory with it, and more at once than
// there are cores would only make each slower. dummy is checked when the
// user does not exist, so that an unknown username takes as long as a wrong
// password.
type passwords struct {
	cost  PasswordCost
	dummy string
	slots chan struct{}
}

// newPasswords makes hashes at cost, concurrency at once (the number of
// usable cores when zero).
func newPasswords(cost PasswordCost, concurrency int) (passwords, error) {
	if err := cost.check(); err != nil {
		return passwords{}, err
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	// The dummy's key is random rather than derived: checking it costs the
	// same, nothing derives it, and making it costs no hash (whose 19 MiB
	// would stay in the heap of an idle server).
	salt, key := make([]byte, argonSaltLen), make([]byte, argonKeyLen)
	if _, err := rand.Read(salt); err != nil {
		return passwords{}, err
	}
	if _, err := rand.Read(key); err != nil {
		return passwords{}, err
	}
	return passwords{cost: cost, dummy: phc(cost, salt, key), slots: make(chan struct{}, concurrency)}, nil
}

func (p passwords) hash(ctx context.Context, password string) (hash string, err error) {
	if err := p.run(ctx, func() { hash, err = hashPassword(password, p.cost) }); err != nil {
		return "", err
	}
	return hash, err
}

// check is CheckPassword in one of the slots.
func (p passwords) check(ctx context.Context, hash, password string) (ok bool, err error) {
	if err := p.run(ctx, func() { ok, err = CheckPassword(hash, password) }); err != nil {
		return false, err
	}
	return ok, err
}

// run runs f in a slot, or returns ctx's error if none frees first.
func (p passwords) run(ctx context.Context, f func()) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.slots }()
	f()
	return nil
}

var errBadHash = errors.New("auth: malformed password hash")

// CheckPassword reports whether password matches the PHC hash, in time that
// does not depend on where they differ.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem == 0 || t == 0 || p == 0 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// OneTimePassword is a random password for a first or reset sign-in.
func OneTimePassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
