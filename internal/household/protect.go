package household

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// IDProtector keeps ID numbers encrypted at rest (AES-256-GCM, a fresh nonce
// each time) and gives a keyed hash (HMAC-SHA-256) for equality lookups and the
// uniqueness constraint, so the database never holds a number in clear. Both
// keys derive from one master key from configuration (HKDF with distinct
// labels), so that rotating the master rotates both.
type IDProtector struct {
	aead    cipher.AEAD
	hmacKey []byte
}

// idAAD binds ciphertexts to their purpose: a sealed ID cannot be passed off
// as another encrypted field.
var idAAD = []byte("ansinh/member/id_number/v1")

// NewIDProtector derives the keys from a 32-byte master key.
func NewIDProtector(master []byte) (*IDProtector, error) {
	if len(master) != 32 {
		return nil, fmt.Errorf("household: the ID key must be 32 bytes, got %d", len(master))
	}
	derive := func(label string) ([]byte, error) {
		k := make([]byte, 32)
		_, err := io.ReadFull(hkdf.New(sha256.New, master, nil, []byte(label)), k)
		return k, err
	}
	encKey, err := derive("ansinh id-number encryption")
	if err != nil {
		return nil, err
	}
	macKey, err := derive("ansinh id-number lookup")
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &IDProtector{aead: aead, hmacKey: macKey}, nil
}

// Seal encrypts an ID number: nonce || ciphertext.
func (p *IDProtector) Seal(id IDNumber) ([]byte, error) {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return p.aead.Seal(nonce, nonce, []byte(id.Digits), idAAD), nil
}

// Open decrypts what Seal produced.
func (p *IDProtector) Open(sealed []byte) (IDNumber, error) {
	n := p.aead.NonceSize()
	if len(sealed) < n {
		return IDNumber{}, errors.New("household: sealed ID too short")
	}
	plain, err := p.aead.Open(nil, sealed[:n], sealed[n:], idAAD)
	if err != nil {
		return IDNumber{}, fmt.Errorf("household: open ID: %w", err)
	}
	return ParseID(string(plain))
}

// Lookup is the keyed hash of an ID number, equal for equal numbers, useless
// without the key (ID numbers are too few to hash unkeyed).
func (p *IDProtector) Lookup(id IDNumber) []byte {
	m := hmac.New(sha256.New, p.hmacKey)
	m.Write([]byte(id.Digits))
	return m.Sum(nil)
}
