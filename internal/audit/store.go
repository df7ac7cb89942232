package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// store runs the package's SQL: events and read-access entries here, blocks
// in store_seal.go and store_verify.go. Statements run on db.Conn(ctx), the
// transaction in ctx if one is open.
type store struct{ db *db.DB }

// insertEvent writes one event in tx, the caller's transaction. txid and
// occurred_at are the database's defaults: the transaction's id and the
// insert's time (the application role may not set them).
func insertEvent(ctx context.Context, tx *gorm.DB, id uuid.UUID, e Event, actorID *uuid.UUID, doc []byte, along string, args []any) error {
	const insert = `INSERT INTO audit_events (id, action, entity_type, entity_id, actor_id, area_path, doc)
		VALUES (?, ?, ?, ?, ?, NULLIF(?, '')::ltree, ?::json)`
	vars := []any{id, e.Action, e.EntityType, e.EntityID, actorID, e.AreaPath, string(doc)}
	if along == "" {
		return tx.WithContext(ctx).Exec(insert, vars...).Error
	}
	return tx.WithContext(ctx).Exec(`WITH audit_event AS (`+insert+`) `+along, append(vars, args...)...).Error
}

const eventColumns = `id, occurred_at, doc::text`

func scanEvent(row db.Scanner) (EventRecord, error) {
	var e EventRecord
	var doc string
	if err := row.Scan(&e.ID, &e.OccurredAt, &doc); err != nil {
		return e, err
	}
	var d eventDoc
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return e, fmt.Errorf("audit event %s: %w", e.ID, err)
	}
	roles, _ := json.Marshal(d.Actor.Roles)
	e.OccurredAt = e.OccurredAt.UTC()
	e.ActorKind, e.ActorID, e.ActorName, e.ActorRoles = d.Actor.Kind, d.Actor.ID, d.Actor.Name, roles
	e.Action, e.EntityType, e.EntityID, e.AreaPath = d.Action, d.EntityType, d.EntityID, d.AreaPath
	e.RequestID, e.ClientIP, e.UserAgent, e.Reason = d.RequestID, d.ClientIP, d.UserAgent, d.Reason
	e.Before, e.After = d.Before, d.After
	return e, nil
}

// events is the query of the events in scope matching f (f.AreaPath is a
// validated path).
func (st store) events(ctx context.Context, scope access.Scope, f EventFilter) *gorm.DB {
	q := scope.Filter(st.db.Conn(ctx).Table("audit_events"), "area_path")
	if f.AreaPath != "" {
		q = q.Where("area_path <@ ?::ltree", f.AreaPath)
	}
	if f.EntityType != "" {
		q = q.Where("entity_type = ?", f.EntityType)
	}
	if f.EntityID != "" {
		q = q.Where("entity_id = ?", f.EntityID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ActorID != nil {
		q = q.Where("actor_id = ?", *f.ActorID)
	}
	if f.From != nil {
		q = q.Where("occurred_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("occurred_at < ?", *f.To)
	}
	return q
}

// listEvents is at most limit events, newest first, before the id after
// (when given).
func (st store) listEvents(ctx context.Context, scope access.Scope, f EventFilter, after *Position, limit int) ([]EventRecord, error) {
	q := st.events(ctx, scope, f)
	if after != nil {
		q = q.Where("id < ?", after.ID)
	}
	return db.Collect(q.Select(eventColumns).Order("id DESC").Limit(limit), scanEvent)
}

// countEvents is how many events in scope match f.
func (st store) countEvents(ctx context.Context, scope access.Scope, f EventFilter) (int64, error) {
	var n int64
	if err := st.events(ctx, scope, f).Count(&n).Error; err != nil {
		return 0, db.MapError(err)
	}
	return n, nil
}

// eachEvent calls fn for every event in scope matching f, newest first, one
// row at a time: an export holds no more than one event in memory.
func (st store) eachEvent(ctx context.Context, scope access.Scope, f EventFilter, fn func(EventRecord) error) error {
	return db.Each(st.events(ctx, scope, f).Select(eventColumns).Order("id DESC"), func(row db.Scanner) error {
		e, err := scanEvent(row)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// event is one event in scope; sql.ErrNoRows when there is none.
func (st store) event(ctx context.Context, scope access.Scope, id uuid.UUID) (EventRecord, error) {
	row := scope.Filter(st.db.Conn(ctx).Table("audit_events"), "area_path").Select(eventColumns).Where("id = ?", id).Row()
	return scanEvent(row)
}

// listAccess is at most limit read-access entries about subject, newest
// first, before the id after (when given). Entries recorded without an area
// match only unlimited scopes.
func (st store) listAccess(ctx context.Context, scope access.Scope, subject uuid.UUID, after *Position, limit int) ([]AccessRecord, error) {
	q := scope.Filter(st.db.Conn(ctx).Table("audit_access").Where("subject_ids @> ARRAY[?::uuid]", subject), "area_path")
	if after != nil {
		q = q.Where("id < ?", after.ID)
	}
	q = q.Select(`id, occurred_at, actor_kind, actor_id, actor_name, actor_roles::text, route,
		coalesce(request_id, ''), coalesce(host(client_ip), ''), subject_type, coalesce(area_path::text, '')`).
		Order("id DESC").Limit(limit)
	return db.Collect(q, func(row db.Scanner) (AccessRecord, error) {
		var a AccessRecord
		var roles string
		if err := row.Scan(&a.ID, &a.OccurredAt, &a.ActorKind, &a.ActorID, &a.ActorName, &roles, &a.Route,
			&a.RequestID, &a.ClientIP, &a.SubjectType, &a.AreaPath); err != nil {
			return a, err
		}
		a.OccurredAt = a.OccurredAt.UTC()
		a.ActorRoles = json.RawMessage(roles)
		return a, nil
	})
}

// insertAccess writes a batch of access entries with one statement of
// twelve array parameters, whatever the batch's size: the same prepared
// statement every time, and no limit on parameters (a row of twelve
// parameters per entry passed PostgreSQL's 65,535 at 5,462 entries, and a
// batch that failed stayed queued and grew).
func (st store) insertAccess(ctx context.Context, batch []accessEntry) error {
	n := len(batch)
	ids, ats, kinds, actors, names := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	roles, routes, requests, ips, types := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	subjects, areas := make([]string, n), make([]string, n)
	for i, e := range batch {
		r, _ := json.Marshal(rolesOf(e.actor))
		ids[i], ats[i], kinds[i], names[i] = e.id.String(), e.at.Format(time.RFC3339Nano), e.actor.Kind, e.actor.Username
		if e.actor.UserID != uuid.Nil {
			actors[i] = e.actor.UserID.String()
		}
		roles[i], routes[i], requests[i], ips[i], types[i] = string(r), e.route(), e.info.RequestID, e.info.ClientIP, e.subjectType
		subjects[i], areas[i] = db.UUIDArray(e.subjectIDs), e.areaPath
	}
	return st.db.Conn(ctx).Exec(`INSERT INTO audit_access (id, occurred_at, actor_kind, actor_id, actor_name, actor_roles, route,
		request_id, client_ip, subject_type, subject_ids, area_path)
		SELECT id::uuid, at::timestamptz, kind, NULLIF(actor, '')::uuid, name, roles::jsonb, route, NULLIF(request, ''),
			NULLIF(ip, '')::inet, type, subjects::uuid[], NULLIF(area, '')::ltree
		FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
			?::text[], ?::text[]) AS e (id, at, kind, actor, name, roles, route, request, ip, type, subjects, area)`,
		db.TextArray(ids), db.TextArray(ats), db.TextArray(kinds), db.TextArray(actors), db.TextArray(names), db.TextArray(roles),
		db.TextArray(routes), db.TextArray(requests), db.TextArray(ips), db.TextArray(types), db.TextArray(subjects),
		db.TextArray(areas)).Error
}

// addPartitions creates the monthly partitions from this month through
// months ahead; owner is the pool of the role that owns the tables.
func addPartitions(ctx context.Context, owner *db.DB, months int) error {
	return owner.Conn(ctx).Exec(`SELECT audit_add_month((date_trunc('month', now()) + make_interval(months => m))::date)
		FROM generate_series(0, ?) AS m`, months).Error
}
