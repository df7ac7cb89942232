package assessment

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/ansinh/ansinh/internal/platform/db"
)

// store is the package's SQL; scope is applied in every query of area data.
// Standards are here; reviews and their objections, lists and
// classification changes in store_review.go; assessments in
// store_assessment.go.
type store struct{ db *db.DB }

// lockForUpdate locks the row read for the rest of the transaction.
var lockForUpdate = clause.Locking{Strength: "UPDATE"}

// standards reads every standard with its indicators, oldest first.
func (s store) standards(ctx context.Context) ([]Standard, error) {
	out, err := db.Collect(s.db.Conn(ctx).Raw(`SELECT code, name, legal_source, valid_from, valid_to, coalesce(area_code, ''),
		coalesce(area_edition, ''), coalesce(area_path::text, ''), income_line_rural, income_line_urban, average_max_rural, average_max_urban,
		poor_min_deprivations, notes, NOT assessable FROM poverty_standards ORDER BY valid_from, code`), func(row db.Scanner) (Standard, error) {
		var st Standard
		err := row.Scan(&st.Code, &st.Name, &st.LegalSource, &st.ValidFrom, &st.ValidTo, &st.AreaCode, &st.AreaEdition, &st.AreaPath,
			&st.LineRural, &st.LineUrban, &st.AverageMaxRural, &st.AverageMaxUrban, &st.PoorMinDeprivations, &st.Notes, &st.HistoryOnly)
		return st, err
	})
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(out))
	for i, st := range out {
		index[st.Code] = i
	}
	err = db.Each(s.db.Conn(ctx).Raw(`SELECT standard_code, code, position, dimension, name_vi, name_en, criterion,
		coalesce(prefill, '') FROM poverty_indicators ORDER BY standard_code, position`), func(row db.Scanner) error {
		var std string
		var i Indicator
		if err := row.Scan(&std, &i.Code, &i.Position, &i.Dimension, &i.NameVI, &i.NameEN, &i.Criterion, &i.Prefill); err != nil {
			return err
		}
		if k, ok := index[std]; ok {
			out[k].Indicators = append(out[k].Indicators, i)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockStandards makes the transaction the only writer of standards until it
// ends: one writer at a time decides overlaps.
func (s store) lockStandards(ctx context.Context) error {
	return s.db.Conn(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtext('poverty_standards'))`).Error
}

func (s store) insertStandard(ctx context.Context, st Standard, actor *uuid.UUID) error {
	conn := s.db.Conn(ctx)
	if err := conn.Exec(`INSERT INTO poverty_standards (code, name, legal_source, valid_from, valid_to, area_code, area_edition, area_path,
		income_line_rural, income_line_urban, average_max_rural, average_max_urban, poor_min_deprivations, notes, created_by)
		VALUES (?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?::ltree, ?, ?, ?, ?, ?, ?, ?)`, st.Code, st.Name, st.LegalSource, st.ValidFrom, st.ValidTo,
		st.AreaCode, st.AreaEdition, st.AreaPath, st.LineRural, st.LineUrban, st.AverageMaxRural, st.AverageMaxUrban, st.PoorMinDeprivations,
		st.Notes, actor).Error; err != nil {
		return err
	}
	for _, i := range st.Indicators {
		if err := conn.Exec(`INSERT INTO poverty_indicators (standard_code, code, position, dimension, name_vi, name_en, criterion, prefill)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''))`, st.Code, i.Code, i.Position, i.Dimension, i.NameVI, i.NameEN,
			i.Criterion, i.Prefill).Error; err != nil {
			return err
		}
	}
	return nil
}
