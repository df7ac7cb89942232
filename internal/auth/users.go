package auth

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/ansinh/ansinh/internal/audit"
	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

// NewUser is a user to create.
type NewUser struct {
	Username           string
	FullName           string
	Phone, Email       string
	Password           string
	MustChangePassword bool
	Assignments        []Grant
}

// Grant is a role at an area, by the area's code.
type Grant struct {
	Role     string
	AreaCode string
}

var usernameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// Roles are the roles a user may hold.
var Roles = []string{"commune_worker", "district_approver", "province_auditor", "program_manager", "system_admin"}

func (n *NewUser) validate() error {
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	n.FullName = vn.NormalizeName(n.FullName)
	n.Phone = vn.NormalizePhone(n.Phone)
	var fe []apperr.FieldError
	if !usernameRe.MatchString(n.Username) {
		fe = append(fe, apperr.FieldError{Field: "username", Code: "invalid", Message: "must be 3-64 of a-z, 0-9, '.', '_' or '-'"})
	}
	if n.FullName == "" {
		fe = append(fe, apperr.FieldError{Field: "full_name", Code: "required", Message: "is required"})
	}
	if n.Phone != "" && !vn.ValidPhone(n.Phone) {
		fe = append(fe, apperr.FieldError{Field: "phone", Code: "invalid", Message: "must be a Vietnamese phone number such as 0912345678"})
	}
	if n.Email != "" && (!strings.Contains(n.Email, "@") || len(n.Email) > 254) {
		fe = append(fe, apperr.FieldError{Field: "email", Code: "invalid", Message: "must be an email address"})
	}
	if len([]rune(n.Password)) < MinPasswordLength {
		fe = append(fe, apperr.FieldError{Field: "password", Code: "too_short", Message: fmt.Sprintf("must be at least %d characters", MinPasswordLength)})
	}
	for i, g := range n.Assignments {
		known := false
		for _, r := range Roles {
			known = known || r == g.Role
		}
		if !known {
			fe = append(fe, apperr.FieldError{Field: fmt.Sprintf("assignments[%d].role", i), Code: "invalid", Message: "is not a role: " + strings.Join(Roles, ", ")})
		}
	}
	return apperr.Fields(fe)
}

// CreateUser creates a user with role assignments, audited with the actor in
// ctx. An existing username is a Conflict.
func (s *Service) CreateUser(ctx context.Context, n NewUser) (uuid.UUID, error) {
	if err := n.validate(); err != nil {
		return uuid.Nil, err
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return uuid.Nil, err
	}
	id := uuid.Must(uuid.NewV7())
	err = s.db.WithTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		if err := conn.Exec(`INSERT INTO users (id, username, full_name, phone, email, password_hash, must_change_password)
			VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?)`,
			id, n.Username, n.FullName, n.Phone, n.Email, hash, n.MustChangePassword).Error; err != nil {
			return err
		}
		grants := []map[string]string{}
		for _, g := range n.Assignments {
			res := conn.Exec(`INSERT INTO role_assignments (id, user_id, role, area_code) SELECT ?, ?, ?, code FROM areas WHERE code = ?`,
				uuid.Must(uuid.NewV7()), id, g.Role, g.AreaCode)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return apperr.Fields([]apperr.FieldError{{Field: "area", Code: "invalid", Message: "no administrative area " + g.AreaCode}})
			}
			grants = append(grants, map[string]string{"role": g.Role, "area": g.AreaCode})
		}
		var area string
		if len(n.Assignments) > 0 {
			if err := conn.Raw(`SELECT path::text FROM areas WHERE code = ?`, n.Assignments[0].AreaCode).Scan(&area).Error; err != nil {
				return err
			}
		}
		return audit.Record(ctx, conn, audit.Event{Action: "user.create", EntityType: "user", EntityID: id.String(), AreaPath: area,
			After: map[string]any{"username": n.Username, "full_name": n.FullName, "assignments": grants,
				"must_change_password": n.MustChangePassword}})
	})
	if apperr.Is(err, apperr.Conflict) {
		return uuid.Nil, apperr.New(apperr.Conflict, "username_taken", "the username %s is taken", n.Username)
	}
	return id, err
}
