package household

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/db"
)

// Commune is where demo households are placed.
type Commune struct {
	Code  string
	Urban bool
}

var (
	kinhFamilies  = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Phan", "Trương"}
	khmerFamilies = []string{"Danh", "Thạch", "Lâm", "Sơn", "Kim", "Chau"}
	maleMiddle    = []string{"Văn", "Hữu", "Minh", "Thanh", "Quốc", "Công"}
	femaleMiddle  = []string{"Thị", "Ngọc", "Thu", "Kim", "Thanh", "Mỹ"}
	maleGiven     = []string{"An", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Phúc", "Quang", "Sơn", "Tài", "Thắng", "Trung", "Vinh"}
	femaleGiven   = []string{"Anh", "Bích", "Châu", "Diệu", "Hà", "Hằng", "Hoa", "Hồng", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương", "Thảo", "Trang", "Tuyết", "Yến"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// demoPerson makes a plausible person born in year.
func demoPerson(r *rand.Rand, family string, sex Sex, year int, relationship string, khmer bool) Member {
	middle, given := pick(r, maleMiddle), pick(r, maleGiven)
	if sex == Female {
		middle, given = pick(r, femaleMiddle), pick(r, femaleGiven)
	}
	m := Member{FullName: family + " " + middle + " " + given, Sex: sex, BirthYear: year, Relationship: relationship,
		Status: "present"}
	if r.IntN(2) == 0 { // half the records have a full date
		d := time.Date(year, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		m.BirthDate = &d
	}
	eth := 1
	if khmer {
		eth = 5
	}
	m.EthnicityCode = &eth
	age := time.Now().Year() - year
	m.Student = age >= 6 && age <= 18
	if age >= 14 && r.IntN(10) < 8 { // most adults hold a CCCD; 091 is Kiên Giang's registration code
		g := 2 * ((year - 1900) / 100)
		if sex == Female {
			g++
		}
		id := IDNumber{Kind: CCCD, Digits: fmt.Sprintf("091%d%02d%06d", g, year%100, r.IntN(1_000_000))}
		m.IDNumber = &id
	}
	return m
}

// SeedDemo registers n synthetic households across the communes,
// deterministically for a seed, as the actor in ctx. A draw that collides
// with an existing ID number or code is skipped, as Create would refuse it.
//
// The households are registered as Create registers one, with the same rows,
// sync feed entries and household.create audit events, in the order drawn;
// but in batches (one transaction of a few statements for seedBatch
// households) rather than one transaction each. Their duplicate candidates
// are then scanned at once, so the demo shows them when it starts.
func (s *Service) SeedDemo(ctx context.Context, communes []Commune, n int, seed uint64) (int, error) {
	drawn := drawDemo(communes, n, seed, s.now())
	created := 0
	for len(drawn) > 0 {
		batch := drawn[:min(seedBatch, len(drawn))]
		drawn = drawn[len(batch):]
		err := s.db.WithTx(ctx, func(ctx context.Context) error {
			got, err := s.seedBatch(ctx, batch)
			created += got
			return err
		})
		if err != nil {
			return created, db.MapError(err)
		}
	}
	return created, s.DrainDuplicates(ctx)
}

// seedBatch is how many demo households are registered in one transaction.
const seedBatch = 250

// drawDemo draws n households in order from the seed, keeping those that
// pass the registry's checks (as NewHousehold would).
func drawDemo(communes []Commune, n int, seed uint64, today time.Time) []Household {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	now := time.Now().Year()
	var out []Household
	for i := range n {
		c := communes[r.IntN(len(communes))]
		khmer := r.IntN(100) < 12 // Kiên Giang has a sizeable Khmer community
		family := pick(r, kinhFamilies)
		if khmer {
			family = pick(r, khmerFamilies)
		}
		headYear := now - 25 - r.IntN(50)
		// Established over 2015-2018 (from the index, so that the generator's
		// draws stay as they were): the demo's households predate its reviews.
		h := Household{Code: fmt.Sprintf("%s-%05d", c.Code, i+1), CommuneCode: c.Code,
			EstablishedOn: ptr(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*37)%1400)),
			Village:       fmt.Sprintf("Ấp %d", 1+r.IntN(9)), Address: fmt.Sprintf("tổ %d", 1+r.IntN(12)),
			AreaType: "rural", EthnicMinority: khmer}
		if c.Urban {
			h.AreaType = "urban"
		}
		if r.IntN(3) > 0 {
			h.Phone = fmt.Sprintf("09%08d", r.IntN(100_000_000))
		}
		headSex := Male
		if r.IntN(4) == 0 {
			headSex = Female
		}
		h.Members = append(h.Members, demoPerson(r, family, headSex, headYear, "head", khmer))
		if r.IntN(10) < 8 {
			spouseSex := Female
			if headSex == Female {
				spouseSex = Male
			}
			h.Members = append(h.Members, demoPerson(r, pick(r, kinhFamilies), spouseSex, headYear+r.IntN(7)-3, "spouse", khmer))
		}
		for range r.IntN(4) {
			year := min(now, headYear+20+r.IntN(20))
			sex := Male
			if r.IntN(2) == 0 {
				sex = Female
			}
			h.Members = append(h.Members, demoPerson(r, family, sex, year, "child", khmer))
		}
		if err := h.check(true, today); err == nil {
			out = append(out, h)
		}
	}
	return out
}

// seedBatch registers drawn households in the caller's transaction, in
// order, skipping those the import's CheckBatch refuses (a commune that is
// not one, a household code taken in its commune, an ID number held by a
// present person or by an earlier household of the batch; drawDemo already
// refused one twice in a household). Then, like Create for each: the sync
// feed, and one household.create event with the household as read back.
func (s *Service) seedBatch(ctx context.Context, batch []Household) (int, error) {
	checked, err := s.CheckBatch(ctx, access.Everywhere(), batch)
	if err != nil {
		return 0, err
	}
	refused := make(map[int]bool, len(checked.Existing)+len(checked.Conflicts))
	for _, i := range checked.Existing {
		refused[i] = true
	}
	for i := range checked.Conflicts {
		refused[i] = true
	}
	var accepted []Household
	for i, h := range batch {
		if !refused[i] {
			accepted = append(accepted, h)
		}
	}
	if len(accepted) == 0 {
		return 0, nil
	}
	paths, err := s.store.communes(ctx, communeCodes(accepted))
	if err != nil {
		return 0, err
	}
	if err := s.insert(ctx, accepted, paths); err != nil {
		return 0, err
	}
	ids := make([]uuid.UUID, len(accepted))
	for i, h := range accepted {
		ids[i] = h.ID
	}
	created, err := s.store.households(ctx, access.Everywhere(), ids)
	if err != nil {
		return 0, err
	}
	if err := s.store.noteInserted(ctx, accepted); err != nil {
		return 0, err
	}
	for _, id := range ids {
		h := created[id]
		if err := audit.Record(ctx, s.db.Conn(ctx), audit.Event{Action: "household.create", EntityType: "household",
			EntityID: h.ID.String(), AreaPath: h.AreaPath, After: auditState(h)}); err != nil {
			return 0, err
		}
	}
	return len(accepted), nil
}

func ptr[T any](v T) *T { return &v }
