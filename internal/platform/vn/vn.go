// Package vn holds Vietnamese formats shared by domains: phone numbers and
// personal names. It knows no domain.
package vn

import (
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// phoneRe accepts mobile (03x, 05x, 07x, 08x, 09x: 10 digits) and landline
// (02x: 11 digits) numbers, written with a leading 0 or +84.
var phoneRe = regexp.MustCompile(`^(\+84|0)(2[0-9]{9}|[35789][0-9]{8})$`)

// NormalizePhone removes spaces, dots and dashes people type in numbers.
func NormalizePhone(s string) string {
	return strings.NewReplacer(" ", "", ".", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(s))
}

// ValidPhone reports whether s (normalised) is a Vietnamese phone number.
func ValidPhone(s string) bool { return phoneRe.MatchString(s) }

// NormalizeName trims a personal name, collapses runs of spaces and puts it in
// Unicode NFC, so that the same name typed on two keyboards compares equal.
// It never changes case or strips diacritics: "Nguyễn Thị Ánh" stays so.
func NormalizeName(s string) string {
	return norm.NFC.String(strings.Join(strings.Fields(s), " "))
}

// VillageKey is how village (ấp, thôn) names are compared: as NormalizeName
// leaves them, without case ("Ấp  3" and "ấp 3" are one village).
func VillageKey(s string) string { return strings.ToLower(NormalizeName(s)) }

// Zone is the zone dates are judged in ("today", "not in the future").
var Zone = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return time.FixedZone("ICT", 7*3600) // no tzdata on the host: Vietnam has no DST
	}
	return loc
}()

// Today is the calendar date in Vietnam at now, as midnight UTC (how dates
// are compared throughout).
func Today(now time.Time) time.Time {
	y, m, d := now.In(Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Date is a date as the API writes it (YYYY-MM-DD), empty for none.
func Date(d *time.Time) string {
	if d == nil {
		return ""
	}
	return d.Format(time.DateOnly)
}
