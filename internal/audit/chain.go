package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// leafSQL computes an event's leaf hash in the database: SHA-256 over
//
//	0x00 || id (16 bytes) || txid (8) || occurred_at (8: microseconds since
//	2000-01-01 UTC) || action, entity_type, entity_id, actor_id, area_path
//	(each as a 4-byte length, -1 for NULL, then its bytes) || the event's
//	JSON document exactly as written (UTF-8, to the end)
//
// The binary forms do not depend on session settings (time zone, date style)
// and the lengths make the encoding unambiguous. The expression lives in the
// binary, not in a stored function, so that changing the database cannot
// change what is hashed.
const leafSQL = `sha256('\x00'::bytea || uuid_send(id) || xid8send(txid) || timestamptz_send(occurred_at)
	|| int4send(octet_length(action)) || textsend(action)
	|| int4send(octet_length(entity_type)) || textsend(entity_type)
	|| int4send(octet_length(entity_id)) || textsend(entity_id)
	|| int4send(CASE WHEN actor_id IS NULL THEN -1 ELSE 16 END) || coalesce(uuid_send(actor_id), ''::bytea)
	|| int4send(coalesce(octet_length(area_path::text), -1)) || coalesce(textsend(area_path::text), ''::bytea)
	|| textsend(doc::text))`

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
