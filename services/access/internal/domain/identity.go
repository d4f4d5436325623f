package domain

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Team roles, from the least to the most privileged; each includes the
// ones before it.
var TeamRoles = []string{"viewer", "developer", "maintainer", "admin"}

// Platform roles.
const RoleAuditor = "auditor"

// PlatformRoles are the roles that span every team.
var PlatformRoles = []string{RolePlatformAdmin, RoleAuditor}

// Kinds of identity.
const (
	KindUser           = "user"
	KindServiceAccount = "service_account"
)

// MaxTokenLifetime bounds a token's expiry; DefaultTokenLifetime is used
// when a request names none.
const (
	MaxTokenLifetime     = 365 * 24 * time.Hour
	DefaultTokenLifetime = 90 * 24 * time.Hour
)

// Team groups people and service accounts. ID is unique to this team:
// a team deleted and created again with the same name has another.
type Team struct {
	ID        string    `json:"id,omitempty"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Member is a user's role in a team.
type Member struct {
	Team    string    `json:"team"`
	User    string    `json:"user"`
	Role    string    `json:"role"`
	AddedAt time.Time `json:"added_at"`
}

// ServiceAccount is a non-human identity of a team, with one team role.
type ServiceAccount struct {
	Team      string    `json:"team"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// ID is the service account's principal id.
func (s ServiceAccount) ID() string { return s.Team + "/" + s.Name }

// User holds a user's platform roles.
type User struct {
	ID    string   `json:"id"`
	Roles []string `json:"roles"`
}

// FieldError names an input field and what is wrong with it.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var (
	namePattern = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)
	userPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,62}$`)
)

// CheckName validates a team or service account name.
func CheckName(field, v string) error {
	if !namePattern.MatchString(v) {
		return &FieldError{field, fmt.Sprintf("%q is not a name: 1-40 characters, lowercase letters, digits and '-', starting with a letter", v)}
	}
	return nil
}

// CheckUser validates a user id.
func CheckUser(field, v string) error {
	if !userPattern.MatchString(v) {
		return &FieldError{field, fmt.Sprintf("%q is not a user id: 1-63 characters, lowercase letters, digits and . _ @ -", v)}
	}
	return nil
}

// CheckTeamRole validates a team role.
func CheckTeamRole(field, v string) error {
	if !slices.Contains(TeamRoles, v) {
		return &FieldError{field, fmt.Sprintf("unknown role %q: one of %v", v, TeamRoles)}
	}
	return nil
}

// CheckPlatformRoles validates platform roles.
func CheckPlatformRoles(field string, vs []string) error {
	for _, v := range vs {
		if !slices.Contains(PlatformRoles, v) {
			return &FieldError{field, fmt.Sprintf("unknown platform role %q: one of %v", v, PlatformRoles)}
		}
	}
	return nil
}

// TokenLifetime validates a requested lifetime ("" for the default).
func TokenLifetime(field, v string) (time.Duration, error) {
	if v == "" {
		return DefaultTokenLifetime, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, &FieldError{field, fmt.Sprintf("%q is not a duration (e.g. 720h)", v)}
	}
	if d <= 0 || d > MaxTokenLifetime {
		return 0, &FieldError{field, fmt.Sprintf("must be between 1s and %s", MaxTokenLifetime)}
	}
	return d, nil
}

// NewTeamID is a team's unique id.
func NewTeamID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "team-" + hex.EncodeToString(b[:])
}
