package household

import (
	"context"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// findDuplicatesOfNew records the duplicate candidates of the members of
// households just inserted (in the caller's transaction), in one statement,
// as findDuplicates run for each member right after its household's
// registration would: a member of the i-th household is compared with the
// present members outside the batch and with those of the batch's first i
// households (its own included), never with those registered after it.
func (s store) findDuplicatesOfNew(ctx context.Context, householdIDs []uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`
		WITH batch AS (
			SELECT u.household_id, u.ord FROM unnest(?::uuid[]) WITH ORDINALITY AS u (household_id, ord)
		), later AS (
			SELECT m.id, b.ord FROM batch b JOIN members m ON m.household_id = b.household_id
		), me AS (
			SELECT m.id, m.name_key, m.birth_date, m.birth_year, m.relationship, h.id AS household_id, h.phone,
			       h.commune_edition, h.commune_code, h.area_path, b.ord
			FROM batch b JOIN households h ON h.id = b.household_id JOIN members m ON m.household_id = h.id
		)
		INSERT INTO duplicate_candidates (id, member_a, member_b, reason, area_path)
		SELECT gen_random_uuid(), least(me.id, found.other), greatest(me.id, found.other), found.reason, me.area_path
		FROM me CROSS JOIN LATERAL (
			SELECT DISTINCT ON (other) other, reason FROM (
				SELECT o.id AS other, 'same_name_and_birth_date' AS reason
				FROM members o WHERE o.name_key = me.name_key AND o.birth_date = me.birth_date
				AND o.id <> me.id AND o.status = 'present'
				UNION ALL
				SELECT o.id, 'similar_name_same_year_and_commune'
				FROM households oh JOIN members o ON o.household_id = oh.id AND o.birth_year = me.birth_year
				WHERE oh.commune_edition = me.commune_edition AND oh.commune_code = me.commune_code
				AND o.id <> me.id AND o.status = 'present' AND similarity(o.name_key, me.name_key) >= 0.6
				UNION ALL
				SELECT o.id, 'same_phone'
				FROM households oh JOIN members o ON o.household_id = oh.id AND o.relationship = 'head' AND o.status = 'present'
				WHERE oh.phone = me.phone AND oh.id <> me.household_id AND me.relationship = 'head' AND me.phone IS NOT NULL
			) c
			WHERE NOT EXISTS (SELECT 1 FROM later l WHERE l.id = c.other AND l.ord > me.ord)
			ORDER BY other, reason LIMIT 20
		) found
		ORDER BY me.ord
		ON CONFLICT (member_a, member_b) DO NOTHING`, db.UUIDArray(householdIDs)).Error
}
