package attachment

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func TestArchive(t *testing.T) {
	by := uuid.Must(uuid.NewV7())
	a := Attachment{Status: Active, Version: 1}
	if err := a.Archive("ảnh mờ", &by); err != nil {
		t.Fatal(err)
	}
	if a.Status != Archived || a.ArchiveReason != "ảnh mờ" || a.ArchivedBy == nil || *a.ArchivedBy != by || a.Version != 1 {
		t.Fatalf("archived: %+v", a)
	}
	again := a
	if err := again.Archive("again", nil); !errors.Is(err, errArchived) {
		t.Fatalf("archiving twice: %v", err)
	}
	if again.ArchiveReason != "ảnh mờ" || again.ArchivedBy == nil || *again.ArchivedBy != by {
		t.Fatalf("a refused transition changed the attachment: %+v", again)
	}
}

func TestParseArchiveReason(t *testing.T) {
	for in, want := range map[string]string{"  ảnh mờ \n": "ảnh mờ", strings.Repeat("ả", 1000): strings.Repeat("ả", 1000)} {
		if got, err := parseArchiveReason(in); err != nil || got != want {
			t.Errorf("parseArchiveReason(%q) = %q, %v", in, got, err)
		}
	}
	for in, code := range map[string]string{"": "required", " \t": "required", strings.Repeat("a", 1001): "too_long"} {
		_, err := parseArchiveReason(in)
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "reason" || e.Fields[0].Code != code {
			t.Errorf("parseArchiveReason(%.10q): %v, want reason %s", in, err, code)
		}
	}
}
