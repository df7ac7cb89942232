package audit

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// The incremental root the sealer computes equals the recursive one that
// verification computes, for every shape of tree.
func TestMerkleBuilderMatchesMerkleRoot(t *testing.T) {
	var leaves [][]byte
	for n := 0; n <= 300; n++ {
		var m merkleBuilder
		for _, l := range leaves {
			m.add(l)
		}
		if !bytes.Equal(m.root(), merkleRoot(leaves)) {
			t.Fatalf("%d leaves: incremental and recursive roots differ", n)
		}
		h := sha256.Sum256([]byte{0, byte(n), byte(n >> 8)})
		leaves = append(leaves, h[:])
	}
}
