package notify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// store holds the outbox's SQL.
type store struct{ db *db.DB }

// notification is an outbox row as the fan-out reads it.
type notification struct {
	ID        uuid.UUID
	Kind      string
	SubjectID uuid.UUID
	AreaPath  string
	Exact     bool
	OwnerID   *uuid.UUID
	ActorID   *uuid.UUID
	CreatedAt time.Time
	ClaimedAt time.Time // the claim's token: the fan-out is written only while it holds
}

// claim takes the notifications of up to n kinds and places (or owners)
// whose newest has waited gather (or oldest five times that), and those a
// dispatcher took and did not finish within the lease, in a transaction of
// its own; they come by kind and place, oldest first.
func (s store) claim(ctx context.Context, gather, lease time.Duration, n int) ([]notification, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`WITH g AS (SELECT kind, area_path, exact, owner_id FROM notifications
			WHERE fanned_out_at IS NULL AND (claimed_at IS NULL OR claimed_at < now() - make_interval(secs => @lease))
			GROUP BY kind, area_path, exact, owner_id
			HAVING max(created_at) <= now() - make_interval(secs => @gather) OR min(created_at) <= now() - 5 * make_interval(secs => @gather)
			ORDER BY min(created_at) LIMIT @n),
		c AS (SELECT o.id FROM notifications o JOIN g ON g.kind = o.kind AND g.exact = o.exact
				AND g.area_path IS NOT DISTINCT FROM o.area_path AND g.owner_id IS NOT DISTINCT FROM o.owner_id
			WHERE o.fanned_out_at IS NULL AND (o.claimed_at IS NULL OR o.claimed_at < now() - make_interval(secs => @lease))
			FOR UPDATE OF o SKIP LOCKED)
		UPDATE notifications o SET claimed_at = now() FROM c WHERE o.id = c.id
		RETURNING o.id, o.kind, o.subject_id, coalesce(o.area_path::text, ''), o.exact, o.owner_id, o.actor_id, o.created_at, o.claimed_at`,
		map[string]any{"gather": gather.Seconds(), "lease": lease.Seconds(), "n": n}),
		func(r db.Scanner) (notification, error) {
			var x notification
			return x, r.Scan(&x.ID, &x.Kind, &x.SubjectID, &x.AreaPath, &x.Exact, &x.OwnerID, &x.ActorID, &x.CreatedAt, &x.ClaimedAt)
		})
}

// recipient is a user who hears of a notification, with their choices and
// the area of the role that makes them one (which chooses the gateway).
type recipient struct {
	UserID         uuid.UUID
	Language       string
	Email          bool
	EmailAddress   string
	Webhook        bool
	WebhookAddress string
	Muted          []string
	AreaPath       string
}

func (r recipient) muted(kind string) bool { return slices.Contains(r.Muted, kind) }

// preferenceColumns are a user's choices, their defaults where they made none.
const preferenceColumns = `u.id, coalesce(p.language, 'vi'), coalesce(p.email, true), coalesce(p.email_address, u.email, ''),
	coalesce(p.webhook, false), coalesce(p.webhook_address, u.phone, ''), array_to_string(coalesce(p.muted_kinds, '{}'), ',')`

// recipients are the active users a notification reaches: its owner, or
// those holding one of roles where its area is (in the unit itself when
// exact, else in it or above it, or in a unit whose past it is), save its
// actor. Each comes once, with their most local such role's area.
func (s store) recipients(ctx context.Context, n notification, roles []string) ([]recipient, error) {
	params := map[string]any{"owner": n.OwnerID, "actor": n.ActorID, "path": n.AreaPath, "exact": n.Exact, "roles": db.TextArray(roles)}
	q := `SELECT DISTINCT ON (u.id) ` + preferenceColumns + `, a.path::text
		FROM role_assignments r JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code
		JOIN users u ON u.id = r.user_id AND u.status = 'active'
		LEFT JOIN notification_preferences p ON p.user_id = u.id
		WHERE r.revoked_at IS NULL AND r.status = 'active' AND r.role = ANY (CAST(@roles AS text[]))
		AND u.id IS DISTINCT FROM CAST(@actor AS uuid)
		AND CASE WHEN @exact THEN a.path = CAST(@path AS ltree)
				OR EXISTS (SELECT 1 FROM area_past_paths(r.area_edition, r.area_code) o WHERE o = CAST(@path AS ltree))
			ELSE a.path @> CAST(@path AS ltree)
				OR EXISTS (SELECT 1 FROM area_past_paths(r.area_edition, r.area_code) o WHERE o @> CAST(@path AS ltree)) END
		ORDER BY u.id, nlevel(a.path) DESC`
	if n.OwnerID != nil {
		q = `SELECT ` + preferenceColumns + `, coalesce((SELECT a.path::text FROM role_assignments r
				JOIN areas a ON a.edition = r.area_edition AND a.code = r.area_code
				WHERE r.user_id = u.id AND r.revoked_at IS NULL AND r.status = 'active' ORDER BY nlevel(a.path) DESC LIMIT 1), '')
			FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
			WHERE u.id = CAST(@owner AS uuid) AND u.status = 'active'`
	}
	return db.Collect(s.db.Conn(ctx).Raw(q, params), func(r db.Scanner) (recipient, error) {
		var x recipient
		var muted string
		err := r.Scan(&x.UserID, &x.Language, &x.Email, &x.EmailAddress, &x.Webhook, &x.WebhookAddress, &muted, &x.AreaPath)
		x.Muted = strings.FieldsFunc(muted, func(r rune) bool { return r == ',' })
		return x, err
	})
}

// delivery is one message to write.
type delivery struct {
	ID                         uuid.UUID
	UserID                     uuid.UUID
	Channel, Address, Endpoint string
	Language                   string
}

// errClaimLost is a fan-out whose claim another dispatcher took over (it
// ran past its lease): it writes nothing, the other one does.
var errClaimLost = errors.New("the claim passed to another dispatcher")

// fannedOut writes the deliveries of a group's message, which tells of its
// lead and of the others gathered into it, and marks them all fanned out,
// with those whose work was done since (told of by nobody); only while they
// are still this claim's (token), else nothing.
func (s store) fannedOut(ctx context.Context, token time.Time, lead uuid.UUID, others, done []uuid.UUID, ds []delivery) error {
	return s.db.WithTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		all := append(append([]uuid.UUID{lead}, others...), done...)
		res := conn.Exec(`UPDATE notifications SET fanned_out_at = now() WHERE id = ANY (CAST(? AS uuid[])) AND claimed_at = ?
			AND fanned_out_at IS NULL`, db.UUIDArray(all), token)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(len(all)) {
			return errClaimLost
		}
		if len(others) > 0 {
			if err := conn.Exec(`UPDATE notifications SET gathered_into = ? WHERE id = ANY (CAST(? AS uuid[]))`,
				lead, db.UUIDArray(others)).Error; err != nil {
				return err
			}
		}
		for _, d := range ds {
			var endpoint *string
			if d.Endpoint != "" {
				endpoint = &d.Endpoint
			}
			if err := conn.Exec(`INSERT INTO notification_deliveries (id, notification_id, user_id, channel, address, endpoint, language)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, d.ID, lead, d.UserID, d.Channel, d.Address, endpoint, d.Language).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// pending is a message taken to send, with what its text needs.
type pending struct {
	ID                 uuid.UUID
	Channel, Address   string
	Endpoint, Language string
	Attempts           int
	Kind, SubjectType  string
	SubjectID          uuid.UUID
	Items              int
	Due                *time.Time
	Reference          string
	AreaCode, AreaName string
	Created            time.Time
	RecipientActive    bool // the user is still active (a message to one disabled since is not sent)
}

// due takes up to n messages whose time has come: each is given the lease
// (due again only after it) and counts an attempt, in a transaction of its
// own, so that it is sent outside any.
func (s store) due(ctx context.Context, channels []string, lease time.Duration, n int) ([]pending, error) {
	return db.Collect(s.db.Conn(ctx).Raw(`WITH t AS (UPDATE notification_deliveries d
			SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => @lease)
			FROM (SELECT id FROM notification_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
				AND channel = ANY (CAST(@channels AS text[])) ORDER BY next_attempt_at LIMIT @n FOR UPDATE SKIP LOCKED) c
			WHERE d.id = c.id
			RETURNING d.id, d.channel, d.address, coalesce(d.endpoint, '') AS endpoint, d.language, d.attempts, d.notification_id, d.user_id)
		SELECT t.id, t.channel, t.address, t.endpoint, t.language, t.attempts, n.kind, n.subject_type, n.subject_id, g.items, g.due,
			coalesce(g.reference, ''), coalesce(a.code, ''), coalesce(a.name, ''), n.created_at, u.status = 'active'
		FROM t JOIN notifications n ON n.id = t.notification_id JOIN users u ON u.id = t.user_id
		CROSS JOIN LATERAL (SELECT count(DISTINCT subject_id)::int AS items, min(due) AS due,
				CASE WHEN count(DISTINCT coalesce(reference, '')) = 1 THEN min(reference) END AS reference
			FROM notifications x WHERE x.id = n.id OR x.gathered_into = n.id) g
		LEFT JOIN LATERAL (SELECT code, name FROM areas WHERE path = n.area_path ORDER BY edition DESC LIMIT 1) a ON true
		ORDER BY t.id`, map[string]any{"lease": lease.Seconds(), "n": n, "channels": db.TextArray(channels)}),
		func(r db.Scanner) (pending, error) {
			var p pending
			return p, r.Scan(&p.ID, &p.Channel, &p.Address, &p.Endpoint, &p.Language, &p.Attempts, &p.Kind, &p.SubjectType, &p.SubjectID,
				&p.Items, &p.Due, &p.Reference, &p.AreaCode, &p.AreaName, &p.Created, &p.RecipientActive)
		})
}

// sent marks a message sent: only while it is the attempt this
// dispatcher took (another may have taken it since, past the lease).
func (s store) sent(ctx context.Context, p pending) error {
	return s.db.Conn(ctx).Exec(`UPDATE notification_deliveries SET status = 'sent', sent_at = now(), last_error = NULL
		WHERE id = ? AND status = 'pending' AND attempts = ?`, p.ID, p.Attempts).Error
}

// retry makes a message due again after wait (only its taken attempt's).
func (s store) retry(ctx context.Context, p pending, why string, wait time.Duration) error {
	return s.db.Conn(ctx).Exec(`UPDATE notification_deliveries SET next_attempt_at = now() + make_interval(secs => ?), last_error = ?
		WHERE id = ? AND status = 'pending' AND attempts = ?`, wait.Seconds(), clip(why), p.ID, p.Attempts).Error
}

// failed gives a message up (only its taken attempt's).
func (s store) failed(ctx context.Context, p pending, why string) error {
	return s.db.Conn(ctx).Exec(`UPDATE notification_deliveries SET status = 'failed', last_error = ?
		WHERE id = ? AND status = 'pending' AND attempts = ?`, clip(why), p.ID, p.Attempts).Error
}

// clip keeps an error short enough to store.
func clip(s string) string {
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "")
	}
	return s
}

// prune removes notifications older than the retention whose messages are
// all sent or failed (the messages go with them).
func (s store) prune(ctx context.Context, retention time.Duration) (int64, error) {
	res := s.db.Conn(ctx).Exec(`DELETE FROM notifications n WHERE n.created_at < now() - make_interval(secs => ?) AND n.fanned_out_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.notification_id = n.id AND d.status = 'pending')`, retention.Seconds())
	return res.RowsAffected, res.Error
}

// preferencesOf is a user's preferences (the defaults when they chose none)
// and their own email and phone.
func preferencesOf(ctx context.Context, pool *db.DB, id uuid.UUID) (Preferences, string, string, error) {
	var p Preferences
	var muted, email, phone string
	err := pool.Conn(ctx).Raw(`SELECT coalesce(p.language, 'vi'), coalesce(p.email, true), p.email_address, coalesce(p.webhook, false),
		p.webhook_address, array_to_string(coalesce(p.muted_kinds, '{}'), ','), coalesce(u.email, ''), coalesce(u.phone, '')
		FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = ?`, id).Row().
		Scan(&p.Language, &p.Email, &p.EmailAddress, &p.Webhook, &p.WebhookAddress, &muted, &email, &phone)
	p.MutedKinds = strings.FieldsFunc(muted, func(r rune) bool { return r == ',' })
	return p, email, phone, err
}

// putPreferences writes a user's preferences.
func putPreferences(ctx context.Context, pool *db.DB, id uuid.UUID, p Preferences) error {
	return pool.Conn(ctx).Exec(`INSERT INTO notification_preferences AS o (user_id, language, email, email_address, webhook, webhook_address, muted_kinds)
		VALUES (?, ?, ?, ?, ?, ?, CAST(? AS text[]))
		ON CONFLICT (user_id) DO UPDATE SET language = EXCLUDED.language, email = EXCLUDED.email, email_address = EXCLUDED.email_address,
			webhook = EXCLUDED.webhook, webhook_address = EXCLUDED.webhook_address, muted_kinds = EXCLUDED.muted_kinds,
			version = o.version + 1, updated_at = now()`,
		id, p.Language, p.Email, p.EmailAddress, p.Webhook, p.WebhookAddress, db.TextArray(p.MutedKinds)).Error
}
