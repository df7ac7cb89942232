package report

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/ansinh/ansinh/internal/access"
)

// ComplaintRow is one child area's complaints about one kind of subject
// over a period.
type ComplaintRow struct {
	Key, Name, SubjectKind                  string
	Received, Accepted, NotAccepted         int64
	Settled, Upheld, PartlyUpheld, Rejected int64
	DaysToSettle                            int64 // summed over those settled: the average is DaysToSettle / Settled
	OverdueOpen                             int64
}

// Complaints is the complaints report of an area over a period, by child
// area and subject.
func (s *Service) Complaints(ctx context.Context, scope access.Scope, edition, areaCode string, from, to time.Time) (Area, []ComplaintRow, error) {
	a, err := s.areaIn(ctx, scope, edition, areaCode, "area", to)
	if err != nil {
		return a, nil, err
	}
	if to.Before(from) {
		return a, nil, errPeriod()
	}
	var counts map[[2]string][]int64
	var names map[string]string
	err = s.db.ReadTx(ctx, func(ctx context.Context, _ bool) error {
		if counts, err = s.store.complaintCounts(ctx, scope, a, from, to); err != nil {
			return err
		}
		names, err = s.store.childNames(ctx, a)
		return err
	})
	if err != nil {
		return a, nil, err
	}
	var out []ComplaintRow
	for k, v := range counts {
		out = append(out, ComplaintRow{Key: k[0], Name: cmp.Or(names[k[0]], k[0]), SubjectKind: k[1], Received: v[0], Accepted: v[1],
			NotAccepted: v[2], Settled: v[3], Upheld: v[4], PartlyUpheld: v[5], Rejected: v[6], DaysToSettle: v[7], OverdueOpen: v[8]})
	}
	slices.SortFunc(out, func(x, y ComplaintRow) int {
		return cmp.Or(cmp.Compare(x.Key, y.Key), cmp.Compare(x.SubjectKind, y.SubjectKind))
	})
	return a, out, nil
}
