package notify

import (
	"context"
	"net/mail"
	"slices"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// Preferences are a user's choices of how they hear of work. An address left
// empty is the user's own (their email, their phone).
type Preferences struct {
	Language       string   `json:"language"`
	Email          bool     `json:"email"`
	EmailAddress   *string  `json:"email_address"`
	Webhook        bool     `json:"webhook"`
	WebhookAddress *string  `json:"webhook_address"`
	MutedKinds     []string `json:"muted_kinds"`
}

// Settings are a user's preferences with where messages would go now.
type Settings struct {
	Preferences
	// DeliversTo is where each channel would send now (nothing: it sends
	// nothing: off, no address, or not configured on this server).
	DeliversTo map[string]string `json:"delivers_to"`
	// Kinds are the kinds of work a notification may be about.
	Kinds []string `json:"kinds"`
}

// notifiedKinds are the kinds a notification is written for (the triggers
// of migrations 00033 and 00036).
var notifiedKinds = []string{"regular_review_due", "review_returned", "objection_open", "review_submitted", "enrollment_proposed",
	"enrollment_returned", "enrollment_flagged", "complaint_to_accept", "complaint_to_settle", "import_problems"}

// check validates and normalizes the preferences.
func (p *Preferences) check() error {
	var fe apperr.FieldList
	if p.Language != "vi" && p.Language != "en" {
		fe.Add("language", "invalid", "must be vi or en")
	}
	if a := p.EmailAddress; a != nil {
		if e, err := mail.ParseAddress(*a); err != nil || e.Address != *a || len(*a) > 254 {
			fe.Add("email_address", "invalid", "must be a plain email address, like ten@xa.gov.vn")
		}
	}
	if a := p.WebhookAddress; a != nil {
		if n := vn.NormalizePhone(*a); vn.ValidPhone(n) {
			*a = n
		} else {
			fe.Add("webhook_address", "invalid", "must be a Vietnamese phone number (the gateway's recipient)")
		}
	}
	if len(p.MutedKinds) > len(notifiedKinds) {
		fe.Add("muted_kinds", "too_many", "must list each kind at most once")
	}
	for i, k := range p.MutedKinds {
		if !slices.Contains(notifiedKinds, k) || slices.Index(p.MutedKinds, k) < i {
			fe.Add("muted_kinds", "invalid", "%q is not a kind of notification, or is listed twice", k)
			break
		}
	}
	if p.MutedKinds == nil {
		p.MutedKinds = []string{}
	}
	return fe.Err()
}

// SettingsService reads and changes users' preferences.
type SettingsService struct {
	db       *db.DB
	channels []string // the channels this server sends on
}

// NewSettings makes the service; channels are those configured.
func NewSettings(pool *db.DB, channels []string) *SettingsService {
	return &SettingsService{db: pool, channels: channels}
}

// Get is the caller's settings.
func (s *SettingsService) Get(ctx context.Context) (Settings, error) {
	id := access.ActorID(ctx)
	if id == nil {
		return Settings{}, apperr.New(apperr.Forbidden, "forbidden", "only a user has notification preferences")
	}
	st, err := s.read(ctx, *id)
	return st, db.MapError(err)
}

// Put replaces the caller's preferences, with an audit event.
func (s *SettingsService) Put(ctx context.Context, p Preferences) (Settings, error) {
	id := access.ActorID(ctx)
	if id == nil {
		return Settings{}, apperr.New(apperr.Forbidden, "forbidden", "only a user has notification preferences")
	}
	if err := p.check(); err != nil {
		return Settings{}, err
	}
	var out Settings
	err := s.db.WithTx(ctx, func(ctx context.Context) error {
		before, err := s.read(ctx, *id)
		if err != nil {
			return err
		}
		if err := putPreferences(ctx, s.db, *id, p); err != nil {
			return err
		}
		if out, err = s.read(ctx, *id); err != nil {
			return err
		}
		return audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "notification_preferences.update", EntityType: "user",
			EntityID: id.String(), Before: before.Preferences, After: out.Preferences})
	})
	return out, db.MapError(err)
}

// read is a user's settings, their defaults where they chose nothing.
func (s *SettingsService) read(ctx context.Context, id uuid.UUID) (Settings, error) {
	p, email, phone, err := preferencesOf(ctx, s.db, id)
	if err != nil {
		return Settings{}, err
	}
	st := Settings{Preferences: p, DeliversTo: map[string]string{}, Kinds: notifiedKinds}
	to := map[string]string{Email: email, Webhook: phone}
	on := map[string]bool{Email: p.Email, Webhook: p.Webhook}
	if p.EmailAddress != nil {
		to[Email] = *p.EmailAddress
	}
	if p.WebhookAddress != nil {
		to[Webhook] = *p.WebhookAddress
	}
	for _, c := range s.channels {
		if on[c] && to[c] != "" {
			st.DeliversTo[c] = to[c]
		}
	}
	return st, nil
}
