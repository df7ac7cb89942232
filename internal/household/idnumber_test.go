package household

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseAndCheckID(t *testing.T) {
	cases := []struct {
		name, in string
		sex      Sex
		year     int
		code     string // "" = accepted
	}{
		{"man born 1978", "091078001234", Male, 1978, ""},
		{"woman born 1981", "091181005678", Female, 1981, ""},
		{"boy born 2008", "091208012345", Male, 2008, ""},
		{"girl born 2014", "091314054321", Female, 2014, ""},
		{"spaces and dots", "091 078.001 234", Male, 1978, ""},
		{"dashes", " 091-078-001234 ", Male, 1978, ""},
		{"old 9-digit CMND", "371234567", Female, 1960, ""},
		{"sex digit disagrees", "091078001234", Female, 1978, "century_sex"},
		{"century disagrees", "091278001234", Male, 1978, "birth_year"},
		{"year disagrees", "091079001234", Male, 1978, "birth_year"},
		{"unknown year is not checked", "091079001234", Male, 0, ""},
		{"letters", "09107800123A", Male, 1978, "format"},
		{"too short", "09107800123", Male, 1978, "format"},
		{"too long", "0910780012345", Male, 1978, "format"},
		{"empty", "", Male, 1978, "format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := ParseID(tc.in)
			if err == nil {
				err = id.CheckPerson(tc.sex, tc.year)
			}
			var ie *IDError
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && (!errors.As(err, &ie) || ie.Code != tc.code):
				t.Fatalf("want %s, got %v", tc.code, err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"091078001234": "0*********34", "371234567": "3******67", "12": "**"} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIDProtector(t *testing.T) {
	p, err := NewIDProtector(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := ParseID("091078001234")
	a, _ := p.Seal(id)
	b, _ := p.Seal(id)
	if bytes.Equal(a, b) || bytes.Contains(a, []byte("091078001234")) {
		t.Fatal("sealing must be randomised and hide the number")
	}
	back, err := p.Open(a)
	if err != nil || back != id {
		t.Fatalf("open: %v %v", back, err)
	}
	a[len(a)-1] ^= 1
	if _, err := p.Open(a); err == nil {
		t.Fatal("a tampered ciphertext must not open")
	}
	other, _ := ParseID("091078001235")
	if !bytes.Equal(p.Lookup(id), p.Lookup(id)) || bytes.Equal(p.Lookup(id), p.Lookup(other)) {
		t.Fatal("lookup hashes: equal for equal numbers, different otherwise")
	}
	q, _ := NewIDProtector(bytes.Repeat([]byte{8}, 32))
	if bytes.Equal(p.Lookup(id), q.Lookup(id)) {
		t.Fatal("the lookup hash must depend on the key")
	}
	if _, err := q.Open(b); err == nil {
		t.Fatal("another key must not open it")
	}
	if _, err := NewIDProtector([]byte("short")); err == nil {
		t.Fatal("a short key must be refused")
	}
}

// FuzzParseID: any input either parses to 9 or 12 digits or is refused; it
// never panics, and checking a parsed number never panics either.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"091078001234", "371234567", "", "abc", "0 9 1", "999999999999"} {
		f.Add(s, 1990, true)
	}
	f.Fuzz(func(t *testing.T, s string, year int, female bool) {
		id, err := ParseID(s)
		if err != nil {
			return
		}
		if len(id.Digits) != 12 && len(id.Digits) != 9 {
			t.Fatalf("parsed %q to %q", s, id.Digits)
		}
		sex := Male
		if female {
			sex = Female
		}
		_ = id.CheckPerson(sex, year)
		if m := id.Masked(); len(m) != len(id.Digits) {
			t.Fatalf("mask length %q", m)
		}
	})
}
