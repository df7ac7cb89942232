package vn

import (
	"testing"
	"time"
)

func TestPhones(t *testing.T) {
	for in, want := range map[string]bool{
		"0912345678":   true,
		"091 234 5678": true,
		"+84912345678": true,
		"0387.654.321": true,
		"02973863123":  true, // landline, Kiên Giang
		"0112345678":   false,
		"091234567":    false,
		"09123456789":  false,
		"84912345678":  false,
		"":             false,
		"phone":        false,
	} {
		if got := ValidPhone(NormalizePhone(in)); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	decomposed := "Nguye\u0302\u0303n Thi\u0323 A\u0301nh" // NFD, as some keyboards send it
	for in, want := range map[string]string{
		"  Nguyễn   Văn  A ": "Nguyễn Văn A",
		decomposed:           "Nguyễn Thị Ánh",
		"lê thị b":           "lê thị b", // case is the person's, not ours
		"H'Mông Thị\tSúa":    "H'Mông Thị Súa",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestVillageKey(t *testing.T) {
	if VillageKey("  Ấp   Tà Teng ") != VillageKey("ấp tà teng") || VillageKey("Ấp 3") == VillageKey("Ấp 4") {
		t.Fatal("village names compare without case or extra spaces, and only so")
	}
}

func TestDate(t *testing.T) {
	d := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	if got := Date(&d); got != "2026-12-06" {
		t.Fatalf("Date: %q", got)
	}
	if got := Date(nil); got != "" {
		t.Fatalf("Date(nil): %q", got)
	}
}
