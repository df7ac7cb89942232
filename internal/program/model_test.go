package program

import (
	"testing"
	"time"

	"github.com/ansinh/ansinh/internal/platform/apperr"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func wantCode(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind || e.Code != code {
		t.Fatalf("error %v, want %v %s", err, kind, code)
	}
}

// The enrollment's transitions: each refuses a state it does not start
// from, with the state told, and leaves the enrollment as its columns must be
// (ended <=> ended_on, flagged_on <=> flag_reason).
func TestEnrollmentTransitions(t *testing.T) {
	start, today := date("2026-01-01"), date("2026-06-01")

	e := Enrollment{State: Proposed, StartsOn: start, Evidence: "Sổ hộ nghèo"}
	wantCode(t, e.Resubmit("more"), apperr.Conflict, "enrollment_state")
	wantCode(t, e.End(today, today, "x"), apperr.Conflict, "enrollment_state")
	wantCode(t, e.Expire(), apperr.Conflict, "enrollment_state")
	if err := e.decidable("approve"); err != nil {
		t.Fatal(err)
	}

	e.State = Returned
	wantCode(t, e.decidable("approve"), apperr.Conflict, "enrollment_state")
	if err := e.Resubmit("Biên bản"); err != nil || e.State != Proposed || e.Evidence != "Sổ hộ nghèo\nBiên bản" {
		t.Fatalf("resubmit: %v %+v", err, e)
	}
	e.State = Returned
	if err := e.Resubmit(""); err != nil || e.Evidence != "Sổ hộ nghèo\nBiên bản" {
		t.Fatalf("resubmit without evidence: %v %q", err, e.Evidence)
	}

	e.State = Approved
	e.Flag(date("2026-03-01"), "no longer eligible")
	if e.FlaggedOn == nil || e.FlagReason == "" {
		t.Fatalf("flag: %+v", e)
	}
	for _, on := range []time.Time{start.AddDate(0, 0, -1), today.AddDate(0, 0, 1)} {
		x := e
		wantCode(t, x.End(on, today, "x"), apperr.Invalid, "validation_failed")
		if x.State != Approved {
			t.Fatalf("a refused end changed the state: %+v", x)
		}
	}
	x := e
	if err := x.End(today, today, "thoát nghèo"); err != nil || x.State != Ended || !x.EndedOn.Equal(today) ||
		x.EndReason != "thoát nghèo" || x.FlaggedOn != nil || x.FlagReason != "" {
		t.Fatalf("end: %v %+v", err, x)
	}
	x.Unflag()
	e.Unflag()
	if e.FlaggedOn != nil || e.FlagReason != "" {
		t.Fatalf("unflag: %+v", e)
	}

	ends := date("2026-02-01")
	e.EndsOn = &ends
	if err := e.Expire(); err != nil || e.State != Ended || !e.EndedOn.Equal(ends) || e.EndReason != "the end date passed" {
		t.Fatalf("expire: %v %+v", err, e)
	}
}

// A patch is applied and checked: a bad result is refused, nil leaves a
// field alone.
func TestProgramAndCampaignPatches(t *testing.T) {
	p := Program{Code: "kg_gift", NameVI: "Quà", NameEN: "Gift", LegalBasis: "KH", Kind: KindGift, Level: "household",
		Status: "active", Amount: "1", Funding: []string{"province"}}
	if err := p.validateNew(); err != nil {
		t.Fatal(err)
	}
	name := "  Quà Tết  "
	q := p
	if err := q.Apply(ProgramPatch{NameVI: &name}); err != nil || q.NameVI != "Quà Tết" || q.NameEN != "Gift" || q.Amount != "1" {
		t.Fatalf("apply: %v %+v", err, q)
	}
	bad := "open"
	q = p
	wantCode(t, q.Apply(ProgramPatch{Status: &bad, Funding: []string{"a,b"}}), apperr.Invalid, "validation_failed")
	if p.Status != "active" {
		t.Fatal("a patch changed the program it was applied to a copy of")
	}

	c := Campaign{Name: "Tết", StartsOn: date("2026-01-20"), EndsOn: date("2026-02-15"), PackageAmount: 700_000}
	early := date("2026-01-01")
	wantCode(t, c.Apply(CampaignPatch{EndsOn: &early}), apperr.Invalid, "validation_failed")
	c.EndsOn = date("2026-02-15")
	amount := int64(750_000)
	if err := c.Apply(CampaignPatch{PackageAmount: &amount}); err != nil || c.PackageAmount != 750_000 || c.Name != "Tết" {
		t.Fatalf("campaign: %v %+v", err, c)
	}
	if (Campaign{AreaPath: "91.914"}).covers("91.9140") || !(Campaign{AreaPath: "91.914"}).covers("91.914.30791") {
		t.Fatal("a campaign's area holds its own subtree only")
	}
}
