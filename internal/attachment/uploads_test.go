package attachment

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestExpireRemovesAbandonedUploadsOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	u, err := NewUploads(nil, dir, "/api/v1/uploads/", 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := u.Expire(time.Hour); err != nil || n != 0 {
		t.Fatalf("an empty directory: %d %v", n, err)
	}
	old, fresh := "0193a0e48f4c7c1a9a532f1f3c5b8e11", "0193a0e48f4c7c1a9a532f1f3c5b8e22"
	write := func(name string, age time.Duration) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write(old, 48*time.Hour)
	write(old+".info", 48*time.Hour)
	write(fresh, time.Minute) // still receiving bytes
	write(fresh+".info", 48*time.Hour)
	write("ansinh-attachment-123", 48*time.Hour)
	write("ansinh-direct-456", time.Minute)
	write("not-ours.txt", 48*time.Hour)
	n, err := u.Expire(24 * time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	want := map[string]bool{fresh: true, fresh + ".info": true, "ansinh-direct-456": true, "not-ours.txt": true}
	if len(left) != len(want) {
		t.Fatalf("left: %v", left)
	}
	for _, p := range left {
		if !want[filepath.Base(p)] {
			t.Fatalf("%s should have gone (left: %v)", p, left)
		}
	}
}
