package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// merkleRoot is the RFC 6962 Merkle tree hash of leaf hashes (already
// prefixed with 0x00); interior nodes hash 0x01 || left || right.
func merkleRoot(leaves [][]byte) []byte {
	switch len(leaves) {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := merkleRoot(leaves[:k]), merkleRoot(leaves[k:])
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

// merkleBuilder computes merkleRoot over leaves added one at a time, holding
// one subtree root per set bit of the count (at most 64), not the leaves: the
// RFC 6962 tree of n leaves is the perfect subtrees of n's binary
// decomposition, largest first, joined from the right.
type merkleBuilder struct {
	sizes []uint64
	roots [][]byte
}

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

func (m *merkleBuilder) add(leaf []byte) {
	m.sizes, m.roots = append(m.sizes, 1), append(m.roots, leaf)
	for n := len(m.sizes); n >= 2 && m.sizes[n-1] == m.sizes[n-2]; n = len(m.sizes) {
		m.roots[n-2] = nodeHash(m.roots[n-2], m.roots[n-1])
		m.sizes[n-2] *= 2
		m.sizes, m.roots = m.sizes[:n-1], m.roots[:n-1]
	}
}

func (m *merkleBuilder) root() []byte {
	if len(m.roots) == 0 {
		return merkleRoot(nil)
	}
	acc := m.roots[len(m.roots)-1]
	for i := len(m.roots) - 2; i >= 0; i-- {
		acc = nodeHash(m.roots[i], acc)
	}
	return acc
}

// header is what a block's hash commits to.
type header struct {
	Seq        int64
	FromXID    uint64
	ToXID      uint64
	EventCount int
	MerkleRoot []byte
	PrevHash   []byte
	KeyID      string
	SealedAt   time.Time
}

// hash is SHA-256 over a versioned, length-prefixed encoding of the header.
func (h header) hash() []byte {
	d := sha256.New()
	d.Write([]byte("ansinh-audit-block-v1\x00"))
	var n [8]byte
	put := func(v uint64) { binary.BigEndian.PutUint64(n[:], v); d.Write(n[:]) }
	bytes := func(b []byte) { put(uint64(len(b))); d.Write(b) }
	put(uint64(h.Seq))
	put(h.FromXID)
	put(h.ToXID)
	put(uint64(h.EventCount))
	bytes(h.MerkleRoot)
	bytes(h.PrevHash)
	bytes([]byte(h.KeyID))
	put(uint64(h.SealedAt.UTC().UnixMicro()))
	return d.Sum(nil)
}

// KeyID names a public key: the first 16 hex digits of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// genesisHash is the previous hash of the first block.
var genesisHash = make([]byte, sha256.Size)
