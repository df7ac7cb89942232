package web

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
)

// A body over the in-memory limit is spooled to disk, hashed whole and given
// back to the handler unchanged.
func TestSpoolLargeBody(t *testing.T) {
	for _, size := range []int{0, 1000, inMemoryBody, inMemoryBody + 1, 3 * inMemoryBody} {
		data := bytes.Repeat([]byte("ansinh"), size/6+1)[:size]
		h := sha256.New()
		body, cleanup, err := spool(bytes.NewReader(data), h)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(body)
		cleanup()
		if want := sha256.Sum256(data); !bytes.Equal(got, data) || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("size %d: body or hash differs", size)
		}
	}
}
