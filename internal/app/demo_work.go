package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/assessment"
	"github.com/ansinh/ansinh/internal/complaint"
	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/vn"
	"github.com/ansinh/ansinh/internal/program"
)

// seedDemoWork leaves open work for the demo accounts, so that a new user's
// inbox is a real one: in Vĩnh Điều (demo-worker's commune today) a
// household's request for a regular review made 20 days ago (overdue: 15
// days to decide) and one made 3 days ago, two complaints about their
// classification (one past its 10 days to be accepted), and legal aid
// proposed for two poor households, awaiting demo-approver (fewer in a
// small demo).
func seedDemoWork(ctx context.Context, a *App, out io.Writer) error {
	const commune = "30793"
	pick := func(q string) ([]uuid.UUID, error) {
		return db.Collect(a.db.Conn(ctx).Raw(`SELECT h.id FROM households h WHERE h.commune_edition = area_edition_in_use()
			AND h.commune_code = ? AND h.status = 'active' AND `+q+` ORDER BY h.code LIMIT 2`, commune), func(r db.Scanner) (uuid.UUID, error) {
			var id uuid.UUID
			return id, r.Scan(&id)
		})
	}
	asking, err := pick(`NOT EXISTS (SELECT 1 FROM reviews r WHERE r.household_id = h.id)`)
	if err != nil {
		return err
	}
	poor, err := pick(`h.classification = 'poor' AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.household_id = h.id AND e.program_code = 'legal_aid')`)
	if err != nil {
		return err
	}
	today, everywhere := vn.Today(time.Now()), access.Everywhere()
	for i, h := range asking {
		requested := today.AddDate(0, 0, -[]int{20, 3}[i])
		if _, err := a.assessments.CreateReview(ctx, everywhere, assessment.ReviewInput{Kind: assessment.Regular, CommuneCode: commune,
			Year: today.Year(), HouseholdID: &h, RequestedOn: &requested, Note: "Hộ đề nghị rà soát (dữ liệu demo)"}); err != nil {
			return fmt.Errorf("demo work: regular review: %w", err)
		}
	}
	for _, h := range poor {
		if _, err := a.programs.Propose(ctx, everywhere, program.Proposal{ProgramCode: "legal_aid", HouseholdID: h, StartsOn: today,
			Evidence: "Đề nghị trợ giúp pháp lý (dữ liệu demo)"}); err != nil {
			return fmt.Errorf("demo work: proposal: %w", err)
		}
	}
	complaints := complaint.NewService(a.db, a.reads)
	for i, h := range asking {
		received := today.AddDate(0, 0, -[]int{12, 2}[i])
		if _, err := complaints.Receive(ctx, everywhere, complaint.Intake{HouseholdID: h, ComplainantName: "Người khiếu nại (demo)",
			Channel: []string{"in_person", "letter"}[i], ReceivedOn: &received, SubjectKind: "classification",
			Content: "Hộ tôi không đồng ý với kết quả phân loại của kỳ rà soát (dữ liệu demo)"}); err != nil {
			return fmt.Errorf("demo work: complaint: %w", err)
		}
	}
	fmt.Fprintf(out, "demo seed: open work for the demo accounts in %s: %d regular reviews requested and %d complaints received (the first of each overdue), %d proposals awaiting approval\n",
		commune, len(asking), len(asking), len(poor))
	return nil
}
