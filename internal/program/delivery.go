package program

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// A delivery record is typed by the program's kind: each kind below is what a
// worker records when that support reaches the household.
type record interface {
	// check validates the record and reports its date, amount, expiry and
	// campaign for the delivery's own columns.
	check(fe *apperr.FieldList) summary
}

type summary struct {
	date     *time.Time
	amount   int64
	expires  *time.Time
	campaign *uuid.UUID
}

// CardRecord is a health insurance card issued.
type CardRecord struct {
	CardNumber string `json:"card_number"`
	ValidFrom  string `json:"valid_from"`
	ValidTo    string `json:"valid_to"`
	IssuedAt   string `json:"issued_at"` // the issuing place
	Premium    int64  `json:"premium"`   // what the state paid, VND
}

func (r CardRecord) check(fe *apperr.FieldList) summary {
	if n := strings.TrimSpace(r.CardNumber); len(n) < 10 || len(n) > 20 {
		fe.Add("record.card_number", "invalid", "the card number has 10 to 20 characters (e.g. HN4919120000001)")
	}
	from := web.ParseDate(fe, "record.valid_from", r.ValidFrom, true)
	to := web.ParseDate(fe, "record.valid_to", r.ValidTo, true)
	if from != nil && to != nil && to.Before(*from) {
		fe.Add("record.valid_to", "invalid", "is before valid_from")
	}
	requireText(fe, "record.issued_at", r.IssuedAt)
	nonNegative(fe, "record.premium", r.Premium)
	return summary{date: from, amount: r.Premium, expires: to}
}

// SchoolRecord is tuition exemption or reduction, or study-cost support, for
// a school year.
type SchoolRecord struct {
	SchoolYear string `json:"school_year"` // 2025-2026
	School     string `json:"school"`
	Level      string `json:"level"`
	Months     int    `json:"months"`
	Amount     int64  `json:"amount"`
	PaidOn     string `json:"paid_on"`
}

func (r SchoolRecord) check(fe *apperr.FieldList) summary {
	var y1, y2 int
	if _, err := fmt.Sscanf(r.SchoolYear, "%4d-%4d", &y1, &y2); err != nil || y2 != y1+1 {
		fe.Add("record.school_year", "invalid", "is the school year, e.g. 2025-2026")
	}
	requireText(fe, "record.school", r.School)
	requireText(fe, "record.level", r.Level)
	if r.Months < 1 || r.Months > 12 {
		fe.Add("record.months", "invalid", "must be from 1 to 12")
	}
	nonNegative(fe, "record.amount", r.Amount)
	return summary{date: web.ParseDate(fe, "record.paid_on", r.PaidOn, true), amount: r.Amount}
}

// Housing milestones, in order.
var housingMilestones = []string{"approved", "started", "foundation", "roof", "completed", "handed_over"}

// HousingRecord is a milestone of a house being built or repaired.
type HousingRecord struct {
	Milestone     string           `json:"milestone"`
	Date          string           `json:"date"`
	Budget        int64            `json:"budget"`
	Contributions map[string]int64 `json:"contributions"` // state, fatherland_front, community, household
	FinalCost     int64            `json:"final_cost"`
}

func (r HousingRecord) check(fe *apperr.FieldList) summary {
	if !slices.Contains(housingMilestones, r.Milestone) {
		fe.Add("record.milestone", "invalid", "must be one of %s", strings.Join(housingMilestones, ", "))
	}
	var total int64
	for who, v := range r.Contributions {
		if !slices.Contains([]string{"state", "fatherland_front", "community", "household"}, who) {
			fe.Add("record.contributions."+who, "unknown", "contributions come from state, fatherland_front, community or household")
		}
		nonNegative(fe, "record.contributions."+who, v)
		total += v
	}
	nonNegative(fe, "record.budget", r.Budget)
	nonNegative(fe, "record.final_cost", r.FinalCost)
	if r.FinalCost > 0 && r.Milestone != "completed" && r.Milestone != "handed_over" {
		fe.Add("record.final_cost", "too_early", "the final cost is known when the house is completed")
	}
	return summary{date: web.ParseDate(fe, "record.date", r.Date, true), amount: total}
}

// TrainingRecord is a vocational course taken.
type TrainingRecord struct {
	Course        string `json:"course"`
	Provider      string `json:"provider"`
	StartsOn      string `json:"starts_on"`
	EndsOn        string `json:"ends_on"`
	Outcome       string `json:"outcome"` // enrolled, completed, dropped
	EmployedAfter *bool  `json:"employed_after"`
	Amount        int64  `json:"amount"`
}

func (r TrainingRecord) check(fe *apperr.FieldList) summary {
	requireText(fe, "record.course", r.Course)
	requireText(fe, "record.provider", r.Provider)
	start := web.ParseDate(fe, "record.starts_on", r.StartsOn, true)
	end := web.ParseDate(fe, "record.ends_on", r.EndsOn, false)
	if start != nil && end != nil && end.Before(*start) {
		fe.Add("record.ends_on", "invalid", "is before starts_on")
	}
	if !slices.Contains([]string{"enrolled", "completed", "dropped"}, r.Outcome) {
		fe.Add("record.outcome", "invalid", "must be enrolled, completed or dropped")
	}
	if r.EmployedAfter != nil && r.Outcome != "completed" {
		fe.Add("record.employed_after", "too_early", "is known after the course is completed")
	}
	nonNegative(fe, "record.amount", r.Amount)
	return summary{date: start, amount: r.Amount}
}

// LoanRecord is an event of a VBSP loan: its disbursement or a repayment.
type LoanRecord struct {
	ContractNumber     string  `json:"contract_number"`
	Event              string  `json:"event"` // disbursement, repayment
	Date               string  `json:"date"`
	Amount             int64   `json:"amount"`
	RatePct            float64 `json:"rate_pct"`
	TermMonths         int     `json:"term_months"`
	OutstandingBalance int64   `json:"outstanding_balance"`
	Overdue            bool    `json:"overdue"`
}

func (r LoanRecord) check(fe *apperr.FieldList) summary {
	requireText(fe, "record.contract_number", r.ContractNumber)
	switch r.Event {
	case "disbursement":
		if r.Amount <= 0 || r.Amount > 100_000_000 {
			fe.Add("record.amount", "invalid", "a preferential loan is from 1 to 100,000,000 VND")
		}
		if r.RatePct <= 0 || r.RatePct > 20 || r.TermMonths < 1 || r.TermMonths > 120 {
			fe.Add("record.rate_pct", "invalid", "give the yearly rate (%%) and the term (1 to 120 months)")
		}
	case "repayment":
		if r.Amount <= 0 {
			fe.Add("record.amount", "invalid", "a repayment is a positive amount")
		}
	default:
		fe.Add("record.event", "invalid", "must be disbursement or repayment")
	}
	nonNegative(fe, "record.outstanding_balance", r.OutstandingBalance)
	return summary{date: web.ParseDate(fe, "record.date", r.Date, true), amount: r.Amount}
}

// PackageRecord is a gift or relief package handed over in a campaign.
type PackageRecord struct {
	CampaignID uuid.UUID `json:"campaign_id"`
	Date       string    `json:"date"`
	Package    string    `json:"package"`
	Amount     int64     `json:"amount"`
}

func (r PackageRecord) check(fe *apperr.FieldList) summary {
	if r.CampaignID == uuid.Nil {
		fe.Add("record.campaign_id", "required", "name the campaign")
	}
	requireText(fe, "record.package", r.Package)
	nonNegative(fe, "record.amount", r.Amount)
	id := r.CampaignID
	return summary{date: web.ParseDate(fe, "record.date", r.Date, true), amount: r.Amount, campaign: &id}
}

// PaymentRecord is a periodic payment (electricity support) or a service
// rendered (legal aid).
type PaymentRecord struct {
	Period string `json:"period"` // 2026-Q1, or the matter for legal aid
	Date   string `json:"date"`
	Amount int64  `json:"amount"`
	Note   string `json:"note"`
}

func (r PaymentRecord) check(fe *apperr.FieldList) summary {
	requireText(fe, "record.period", r.Period)
	nonNegative(fe, "record.amount", r.Amount)
	if len(r.Note) > 500 {
		fe.Add("record.note", "too_long", "must be at most 500 characters")
	}
	return summary{date: web.ParseDate(fe, "record.date", r.Date, true), amount: r.Amount}
}

func requireText(fe *apperr.FieldList, field, s string) {
	if s = strings.TrimSpace(s); s == "" || len(s) > 200 {
		fe.Add(field, "required", "is required (at most 200 characters)")
	}
}

func nonNegative(fe *apperr.FieldList, field string, v int64) {
	if v < 0 || v > 10_000_000_000 {
		fe.Add(field, "invalid", "must be whole VND from 0 to 10,000,000,000")
	}
}

// newRecord is the empty record of a kind.
func newRecord(kind string) record {
	switch kind {
	case KindHealthInsurance:
		return &CardRecord{}
	case KindTuition, KindStudyCost:
		return &SchoolRecord{}
	case KindHousing:
		return &HousingRecord{}
	case KindVocationalTraining:
		return &TrainingRecord{}
	case KindLoan:
		return &LoanRecord{}
	case KindGift, KindRelief:
		return &PackageRecord{}
	default:
		return &PaymentRecord{}
	}
}

// decodeRecord reads a kind's record strictly (unknown fields refused) and
// checks it; details is the record as stored.
func decodeRecord(kind string, raw json.RawMessage) (map[string]any, summary, error) {
	rec := newRecord(kind)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(rec); err != nil {
		return nil, summary{}, apperr.Fields([]apperr.FieldError{{Field: "record", Code: "invalid",
			Message: fmt.Sprintf("is not a %s record: %s", kind, firstLine(err.Error()))}})
	}
	var fe apperr.FieldList
	sum := rec.check(&fe)
	if err := fe.Err(); err != nil {
		return nil, summary{}, err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, summary{}, err
	}
	var details map[string]any
	if err := json.Unmarshal(b, &details); err != nil {
		return nil, summary{}, err
	}
	return details, sum, nil
}

// AddDelivery appends a record of support delivered under an approved
// enrollment in scope; the record's shape is the program kind's.
func (s *Service) AddDelivery(ctx context.Context, scope access.Scope, enrollmentID uuid.UUID, raw json.RawMessage) (Delivery, error) {
	var out Delivery
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		e, err := s.store.enrollment(ctx, scope, enrollmentID, true)
		if err != nil {
			return err
		}
		if e.State != Approved && e.State != Ended {
			return wrongState("receive support before it is approved", e.State)
		}
		p, err := s.store.program(ctx, e.ProgramCode, false)
		if err != nil {
			return err
		}
		details, sum, err := decodeRecord(p.Kind, raw)
		if err != nil {
			return err
		}
		if err := s.checkDelivery(ctx, p, e, sum); err != nil {
			return err
		}
		out = Delivery{ID: uuid.Must(uuid.NewV7()), EnrollmentID: e.ID, Kind: p.Kind, AreaPath: e.AreaPath, OccurredOn: *sum.date,
			Amount: sum.amount, ExpiresOn: sum.expires, CampaignID: sum.campaign, Details: details, CreatedAt: s.now().UTC()}
		if err := s.store.insertDelivery(ctx, out); err != nil {
			if apperr.Is(db.MapError(err), apperr.Conflict) {
				return errPackageDelivered
			}
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "delivery.record", EntityType: "delivery", EntityID: out.ID.String(),
			AreaPath: e.AreaPath, After: map[string]any{"enrollment_id": e.ID, "kind": p.Kind, "occurred_on": out.OccurredOn.Format(time.DateOnly),
				"amount": out.Amount, "details": details}})
	})
	return out, db.MapError(err)
}

// checkDelivery checks a record's date against the enrollment's term (up to
// a month ahead) and a package against its campaign.
func (s *Service) checkDelivery(ctx context.Context, p Program, e Enrollment, sum summary) error {
	last := s.today().AddDate(0, 1, 0)
	for _, end := range []*time.Time{e.EndedOn, e.EndsOn} {
		if end != nil && end.Before(last) {
			last = *end
		}
	}
	if sum.date.Before(e.StartsOn) || sum.date.After(last) {
		return fieldError("record", "date_out_of_range", fmt.Sprintf("the record's date must fall from the enrollment's start (%s) to %s",
			e.StartsOn.Format(time.DateOnly), last.Format(time.DateOnly)))
	}
	if sum.campaign == nil {
		return nil
	}
	c, err := s.store.campaign(ctx, p.Code, *sum.campaign)
	if apperr.Is(err, apperr.NotFound) || err == nil && !c.covers(e.AreaPath) {
		return fieldError("record.campaign_id", "not_found", "no campaign of this program covers the household's area")
	}
	if err != nil {
		return err
	}
	if sum.date.Before(c.StartsOn) || sum.date.After(c.EndsOn) || sum.amount > c.PackageAmount {
		return fieldError("record", "outside_campaign", fmt.Sprintf("a package of this campaign is handed over from %s to %s and is worth at most %s",
			c.StartsOn.Format(time.DateOnly), c.EndsOn.Format(time.DateOnly), vnd(c.PackageAmount)))
	}
	return nil
}

// Deliveries lists an enrollment's delivery records in scope, oldest first.
func (s *Service) Deliveries(ctx context.Context, scope access.Scope, enrollmentID uuid.UUID) ([]Delivery, error) {
	if _, err := s.store.enrollment(ctx, scope, enrollmentID, false); err != nil {
		return nil, db.MapError(err)
	}
	out, err := s.store.deliveries(ctx, scope, &enrollmentID, nil, time.Time{}, 1000)
	return out, db.MapError(err)
}

// ExpiringCards lists health insurance cards in scope whose latest card
// expires within the next days (today included).
func (s *Service) ExpiringCards(ctx context.Context, scope access.Scope, days, limit int) ([]Delivery, error) {
	today := s.today()
	by := today.AddDate(0, 0, days)
	out, err := s.store.deliveries(ctx, scope, nil, &by, today, limit)
	return out, db.MapError(err)
}
