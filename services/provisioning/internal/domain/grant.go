package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"time"
)

// GrantPrefix starts the name of every login Pave issues for a grant. It
// is not Prefix ("pave_"), so the orphan sweep, which owns pave_ names,
// never takes a grant login for an orphaned resource; the drift sweep
// owns paveg_ names.
const GrantPrefix = "paveg_"

// Scope kinds of a grant.
const (
	ScopeTeam        = "team"
	ScopeEnvironment = "environment"
	ScopeStage       = "stage"
)

// Grant is the desired state of one just-in-time grant, as the access
// service announced it.
type Grant struct {
	GrantID   string `json:"grant_id"`
	Principal string `json:"principal"`
	Team      string `json:"team"`
	Role      string `json:"role"`
	// ScopeKind is team, environment or stage.
	ScopeKind     string    `json:"scope_kind"`
	EnvironmentID string    `json:"environment_id,omitempty"`
	Stage         string    `json:"stage,omitempty"`
	ExpiresAt     time.Time `json:"expires_at"`
	// Revoked is kept (a tombstone), so an activation that arrives after
	// its revocation grants nothing.
	Revoked   bool      `json:"revoked,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Revision  uint64    `json:"-"`
}

// Target is what a grant is matched against: an environment, its team
// and stage.
type Target struct {
	EnvironmentID string `json:"environment_id"`
	Team          string `json:"team"`
	Stage         string `json:"stage,omitempty"`
	// Active is true between a credentials sync and a revoke: only then
	// do grants become logins on the environment's resources.
	Active    bool      `json:"active"`
	UpdatedAt time.Time `json:"updated_at"`
	Revision  uint64    `json:"-"`
}

// EndedBefore reports whether g granted nothing after horizon: it expired,
// or was revoked, before it. Its record may then go, as a late activation
// of it grants nothing (its expiry is past) as long as the horizon is
// further back than the longest grant (PAVE_ACCESS_MAX_GRANT).
func (g Grant) EndedBefore(horizon time.Time) bool {
	end := g.ExpiresAt
	if g.Revoked && g.RevokedAt.After(end) {
		end = g.RevokedAt
	}
	return end.Before(horizon)
}

// Live reports whether g still grants anything at now.
func (g Grant) Live(now time.Time) bool { return !g.Revoked && now.Before(g.ExpiresAt) }

// Covers reports whether g applies to the environment t.
func (g Grant) Covers(t Target) bool {
	if g.Team != t.Team {
		return false
	}
	switch g.ScopeKind {
	case ScopeTeam:
		return true
	case ScopeEnvironment:
		return g.EnvironmentID == t.EnvironmentID
	case ScopeStage:
		return g.Stage != "" && g.Stage == t.Stage
	}
	return false
}

// Writes reports whether g's role may change data: every role but viewer.
func (g Grant) Writes() bool { return g.Role != "viewer" }

// CredentialName is the login of grant grantID on resource resourceID:
// GrantPrefix and 16 hex digits of a hash of both ids. It is
// deterministic, so a retry finds the login it made, and short enough for
// a PostgreSQL identifier.
func CredentialName(grantID, resourceID string) string {
	sum := sha256.Sum256([]byte(grantID + "\x00" + resourceID))
	return GrantPrefix + hex.EncodeToString(sum[:8])
}

// Issued is one grant login that exists, or is being made, on a resource.
type Issued struct {
	Name          string    `json:"name"`
	GrantID       string    `json:"grant_id"`
	Principal     string    `json:"principal"`
	Team          string    `json:"team"`
	EnvironmentID string    `json:"environment_id"`
	ResourceID    string    `json:"resource_id"`
	Driver        string    `json:"driver"`
	Writes        bool      `json:"writes"`
	ExpiresAt     time.Time `json:"expires_at"`
	// SealedCredentials is empty while the login is being made.
	SealedCredentials []byte    `json:"sealed_credentials,omitempty"`
	ClaimedAt         time.Time `json:"claimed_at"`
	Revision          uint64    `json:"-"`
}

// LogValue keeps sealed bytes out of logs.
func (i Issued) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", i.Name), slog.String("grant", i.GrantID), slog.String("resource", i.ResourceID))
}

// Drift is one difference between a target and the desired logins.
type Drift struct {
	Driver, ResourceID, EnvironmentID string
	// Kind is extra or missing.
	Kind, Name, GrantID string
	Remediated          bool
	Err                 error
}
