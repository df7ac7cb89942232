package importer

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// historyStore holds the SQL of the history import.
type historyStore struct{ db *db.DB }

// unitKey names a unit of an edition: a commune, or a household by its
// commune and code.
type unitKey struct{ edition, commune, code string }

// communeAt is a unit as an edition has it.
type communeAt struct{ path, level string }

// communes reads the units named, by edition and code.
func (s historyStore) communes(ctx context.Context, keys []unitKey) (map[unitKey]communeAt, error) {
	eds, codes := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		eds[i], codes[i] = k.edition, k.commune
	}
	out := map[unitKey]communeAt{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT a.edition, a.code, a.path::text, a.level FROM areas a
		JOIN unnest(CAST(@e AS text[]), CAST(@c AS text[])) k (edition, code) ON a.edition = k.edition AND a.code = k.code`,
		map[string]any{"e": db.TextArray(eds), "c": db.TextArray(codes)}), func(r db.Scanner) error {
		var k unitKey
		var c communeAt
		if err := r.Scan(&k.edition, &k.commune, &c.path, &c.level); err != nil {
			return err
		}
		out[k] = c
		return nil
	})
	return out, err
}

// foundHousehold is a household found by the commune and code it had in an
// edition, with its path today.
type foundHousehold struct {
	id   uuid.UUID
	path string
}

// households finds households by commune and code in an edition: those
// filed under it, and those a reorganization moved from it (by the code they
// had there).
func (s historyStore) households(ctx context.Context, keys []unitKey) (map[unitKey]foundHousehold, error) {
	eds, communes, codes := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		eds[i], communes[i], codes[i] = k.edition, k.commune, k.code
	}
	out := map[unitKey]foundHousehold{}
	err := db.Each(s.db.Conn(ctx).Raw(`WITH k (edition, commune, code) AS (SELECT * FROM unnest(CAST(@e AS text[]), CAST(@c AS text[]), CAST(@k AS text[])))
		SELECT k.edition, k.commune, k.code, h.id, h.area_path::text FROM households h
			JOIN k ON h.commune_edition = k.edition AND h.commune_code = k.commune AND h.code = k.code
		UNION
		SELECT k.edition, k.commune, k.code, h.id, h.area_path::text FROM reorganization_moves m
			JOIN reorganizations r ON r.id = m.reorganization_id
			JOIN k ON r.from_edition = k.edition AND m.from_code = k.commune AND m.old_household_code = k.code
			JOIN households h ON h.id = m.household_id`,
		map[string]any{"e": db.TextArray(eds), "c": db.TextArray(communes), "k": db.TextArray(codes)}), func(r db.Scanner) error {
		var k unitKey
		var f foundHousehold
		if err := r.Scan(&k.edition, &k.commune, &k.code, &f.id, &f.path); err != nil {
			return err
		}
		out[k] = f
		return nil
	})
	return out, err
}

// successors are the units of edition to that each commune of edition from
// became.
func (s historyStore) successors(ctx context.Context, from string, codes []string, to string) (map[string][]string, error) {
	out := map[string][]string{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT from_code, to_code FROM area_successions
		WHERE from_edition = ? AND to_edition = ? AND from_code = ANY (CAST(? AS text[])) ORDER BY from_code, to_code`,
		from, to, db.TextArray(codes)), func(r db.Scanner) error {
		var f, t string
		if err := r.Scan(&f, &t); err != nil {
			return err
		}
		out[f] = append(out[f], t)
		return nil
	})
	return out, err
}

// reorganization is the reorganization from edition from to edition to
// (uuid.Nil if none was run).
func (s historyStore) reorganization(ctx context.Context, from, to string) (uuid.UUID, error) {
	ids, err := db.Collect(s.db.Conn(ctx).Raw(`SELECT id FROM reorganizations WHERE from_edition = ? AND to_edition = ?`, from, to),
		func(r db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, r.Scan(&id)
		})
	if err != nil || len(ids) == 0 {
		return uuid.Nil, err
	}
	return ids[0], nil
}

// changeOnRecord is a classification change on record.
type changeOnRecord struct {
	change
	history  bool
	decision string
	year     int // a history row's list year
}

// changes are the classification changes on record of the households, in
// order of effect.
func (s historyStore) changes(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID][]changeOnRecord, error) {
	out := map[uuid.UUID][]changeOnRecord{}
	err := db.Each(s.db.Conn(ctx).Raw(`SELECT household_id, effective_date, from_class, to_class, source = 'history', decision_number,
		coalesce(list_year, 0) FROM classification_changes WHERE household_id = ANY (CAST(? AS uuid[]))
		ORDER BY household_id, effective_date, created_at`,
		db.UUIDArray(ids)), func(r db.Scanner) error {
		var id uuid.UUID
		var c changeOnRecord
		if err := r.Scan(&id, &c.on, &c.from, &c.to, &c.history, &c.decision, &c.year); err != nil {
			return err
		}
		out[id] = append(out[id], c)
		return nil
	})
	return out, err
}

// standards reads the poverty standards with their indicators' codes, as
// the assessments know them (the rule of which is in force is theirs).
func (s historyStore) standards(ctx context.Context) ([]assessment.Standard, error) {
	all, err := db.Collect(s.db.Conn(ctx).Raw(`SELECT code, valid_from, valid_to, coalesce(area_path::text, ''), NOT assessable
		FROM poverty_standards ORDER BY valid_from, code`), func(r db.Scanner) (assessment.Standard, error) {
		var st assessment.Standard
		return st, r.Scan(&st.Code, &st.ValidFrom, &st.ValidTo, &st.AreaPath, &st.HistoryOnly)
	})
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, st := range all {
		index[st.Code] = i
	}
	err = db.Each(s.db.Conn(ctx).Raw(`SELECT standard_code, code FROM poverty_indicators ORDER BY standard_code, position`), func(r db.Scanner) error {
		var st, code string
		if err := r.Scan(&st, &code); err != nil {
			return err
		}
		if i, ok := index[st]; ok {
			all[i].Indicators = append(all[i].Indicators, assessment.Indicator{Code: code})
		}
		return nil
	})
	return all, err
}

// historyRow is a year of a household's history to write.
type historyRow struct {
	household    uuid.UUID
	year         int // the list's year
	path         string
	standard     string
	from, to     string
	effective    time.Time
	decision     string
	lists        []string
	income       *int64
	deprivations []string
}

// historyChunk is how many years one statement writes (13 parameters a
// row, under PostgreSQL's 65,535).
const historyChunk = 4000

// insertHistory writes years of households' histories, with the import
// that brought them.
func (s historyStore) insertHistory(ctx context.Context, source string, rows []historyRow) error {
	for len(rows) > 0 {
		chunk := rows[:min(historyChunk, len(rows))]
		rows = rows[len(chunk):]
		q := `INSERT INTO classification_changes (id, household_id, area_path, standard_code, from_class, to_class, effective_date,
			decision_number, lists, source, import_source, list_year, income_per_person, deprivations) VALUES `
		args := make([]any, 0, len(chunk)*13)
		for i, r := range chunk {
			if i > 0 {
				q += ", "
			}
			q += "(?, ?, CAST(? AS ltree), ?, ?, ?, ?, ?, CAST(? AS text[]), 'history', ?, ?, ?, CAST(? AS text[]))"
			var deprivations any
			if r.deprivations != nil {
				deprivations = db.TextArray(r.deprivations)
			}
			args = append(args, uuid.Must(uuid.NewV7()), r.household, r.path, r.standard, r.from, r.to, r.effective, r.decision,
				db.TextArray(r.lists), source, r.year, r.income, deprivations)
		}
		if err := s.db.Conn(ctx).Exec(q, args...).Error; err != nil {
			return err
		}
	}
	return nil
}

// newMove is a household created under older units, placed in the
// reorganization that moved their households.
type newMove struct {
	reorganization   uuid.UUID
	household        uuid.UUID
	fromCode, toCode string
	householdCode    string
}

// insertMoves records where households created under older units stood in
// them: as moved at once by the mapping, keeping their code.
func (s historyStore) insertMoves(ctx context.Context, moves []newMove) error {
	for _, m := range moves {
		if err := s.db.Conn(ctx).Exec(`INSERT INTO reorganization_moves (reorganization_id, household_id, from_code, to_code, source,
			old_household_code, new_household_code, moved_at) VALUES (?, ?, ?, ?, 'mapping', ?, ?, now())`,
			m.reorganization, m.household, m.fromCode, m.toCode, m.householdCode, m.householdCode).Error; err != nil {
			return err
		}
	}
	return nil
}
