package events

import "time"

// Just-in-time access: the access service publishes a grant's start and end
// (the credentials helper turns them into real credentials), and a
// break-glass grant's high-severity alert.
const (
	TypeGrantActivated      = "dev.pave.access.grant.activated.v1"
	TypeGrantRevoked        = "dev.pave.access.grant.revoked.v1"
	TypeBreakGlassActivated = "dev.pave.access.breakglass.activated.v1"
	GrantScopeTeam          = "team"
	GrantScopeEnvironment   = "environment"
	GrantScopeStage         = "stage"
	GrantRevokedExpired     = "expired"
	GrantRevokedRevoked     = "revoked"
	GrantRevokedReview      = "review"
	GrantRevokedSuperseded  = "superseded"
	BreakGlassSeverityHigh  = "high"
	// A second person's approval of a persistent production
	// environment's teardown: it elevates no role (so it is not a
	// grant.activated, which becomes credentials); the gateway's decisions
	// count it while it lasts.
	TypeTeardownApproved = "dev.pave.access.teardown.approved.v1"
	TypeTeardownEnded    = "dev.pave.access.teardown.ended.v1"
)

func accessTypes() map[string]any {
	return map[string]any{
		TypeGrantActivated:      GrantActivated{},
		TypeGrantRevoked:        GrantRevoked{},
		TypeBreakGlassActivated: BreakGlassActivated{},
		TypeTeardownApproved:    TeardownApproved{},
		TypeTeardownEnded:       TeardownEnded{},
	}
}

// GrantScope is what a grant covers: a whole team, one of its
// environments, or every environment of a stage.
type GrantScope struct {
	// Kind is team, environment or stage.
	Kind          string `json:"kind"`
	EnvironmentID string `json:"environment_id,omitempty"`
	Stage         string `json:"stage,omitempty"`
}

// GrantActivated is the data of TypeGrantActivated: a grant starts counting.
type GrantActivated struct {
	GrantID string `json:"grant_id"`
	// Principal is a user id or a service account id (team/name).
	Principal string     `json:"principal"`
	Team      string     `json:"team"`
	Role      string     `json:"role"`
	Scope     GrantScope `json:"scope"`
	StartsAt  time.Time  `json:"starts_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RequestID string     `json:"request_id,omitempty"`
	// BreakGlass marks a grant taken in an incident without approval.
	BreakGlass bool `json:"break_glass"`
}

// GrantRevoked is the data of TypeGrantRevoked: a grant stops counting.
type GrantRevoked struct {
	GrantID   string     `json:"grant_id"`
	Principal string     `json:"principal"`
	Team      string     `json:"team"`
	Role      string     `json:"role"`
	Scope     GrantScope `json:"scope"`
	// Reason is expired, revoked, review or superseded.
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
	// By is who revoked it early (absent when it expired).
	By string `json:"by,omitempty"`
}

// BreakGlassActivated is the data of TypeBreakGlassActivated: someone took
// an immediate grant in an incident; an operator should look.
type BreakGlassActivated struct {
	GrantID    string     `json:"grant_id"`
	Principal  string     `json:"principal"`
	Team       string     `json:"team"`
	Role       string     `json:"role"`
	Scope      GrantScope `json:"scope"`
	IncidentID string     `json:"incident_id"`
	Reason     string     `json:"reason"`
	// Severity is always high.
	Severity  string    `json:"severity"`
	StartsAt  time.Time `json:"starts_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TeardownApproved is the data of TypeTeardownApproved: another person's
// approval lets Principal tear down the environment in Scope from
// StartsAt until ExpiresAt (or a TeardownEnded).
type TeardownApproved struct {
	GrantID    string     `json:"grant_id"`
	Principal  string     `json:"principal"`
	Team       string     `json:"team"`
	Scope      GrantScope `json:"scope"`
	StartsAt   time.Time  `json:"starts_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RequestID  string     `json:"request_id,omitempty"`
	ApprovedBy []string   `json:"approved_by,omitempty"`
}

// TeardownEnded is the data of TypeTeardownEnded: a teardown approval
// stops counting.
type TeardownEnded struct {
	GrantID   string     `json:"grant_id"`
	Principal string     `json:"principal"`
	Team      string     `json:"team"`
	Scope     GrantScope `json:"scope"`
	// Reason is expired, revoked, review or superseded.
	Reason  string    `json:"reason"`
	EndedAt time.Time `json:"ended_at"`
	By      string    `json:"by,omitempty"`
}
