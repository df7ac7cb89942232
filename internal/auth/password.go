package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
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
	if cost.MemoryKiB < 8*argonThreads || cost.Passes == 0 {
		return "", fmt.Errorf("auth: password cost %+v is below Argon2id's minimum", cost)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, cost.Passes, cost.MemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, cost.MemoryKiB, cost.Passes, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// passwords makes new hashes at one cost, and has a hash of the same cost to
// check when the user does not exist, so that an unknown username takes as
// long as a wrong password.
type passwords struct {
	cost  PasswordCost
	dummy string
}

func newPasswords(cost PasswordCost) (passwords, error) {
	dummy, err := hashPassword(OneTimePassword(), cost)
	return passwords{cost: cost, dummy: dummy}, err
}

func (p passwords) hash(password string) (string, error) { return hashPassword(password, p.cost) }

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
