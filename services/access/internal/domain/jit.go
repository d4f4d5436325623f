package domain

import (
	"time"

	"github.com/pave-platform/pave/pkg/events"
)

// Just-in-time access: requests, their approvals and access reviews. The
// service that decides them is internal/jit.

// Kinds of request.
const (
	KindAccess   = "access"
	KindTeardown = "teardown"
)

// States of a request.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestDenied   = "denied"
	RequestExpired  = "expired"
)

// Request asks for a role (or, kind teardown, a second person's approval
// to tear down one persistent production environment).
type Request struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Requester string            `json:"requester"`
	Team      string            `json:"team"`
	Role      string            `json:"role,omitempty"`
	Scope     events.GrantScope `json:"scope"`
	Duration  string            `json:"duration"`
	StartsAt  *time.Time        `json:"starts_at,omitempty"`
	Reason    string            `json:"reason"`
	State     string            `json:"state"`
	// ApprovalsRequired distinct approvers, none of them the requester.
	ApprovalsRequired int        `json:"approvals_required"`
	Approvals         []Decision `json:"approvals"`
	Denial            *Decision  `json:"denial,omitempty"`
	GrantID           string     `json:"grant_id,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	// ExpiresAt: a request still pending then expires.
	ExpiresAt time.Time `json:"expires_at"`
}

// Decision is one reviewer's approval or denial.
type Decision struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// States of a review campaign.
const (
	ReviewOpen   = "open"
	ReviewClosed = "closed"
)

// Review decisions.
const (
	Keep   = "keep"
	Revoke = "revoke"
)

// Subjects of review items.
const (
	SubjectGrant          = "grant"
	SubjectMembership     = "membership"
	SubjectServiceAccount = "service_account"
	SubjectToken          = "token"
)

// Review is an access review campaign over a team's standing access: its
// active grants, memberships, service accounts and live tokens.
type Review struct {
	ID        string    `json:"id"`
	Team      string    `json:"team"`
	Deadline  time.Time `json:"deadline"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Trigger says why the platform opened it ("break_glass:<grant>"); ""
	// for a campaign someone created.
	Trigger  string       `json:"trigger,omitempty"`
	State    string       `json:"state"`
	ClosedAt *time.Time   `json:"closed_at,omitempty"`
	Items    []ReviewItem `json:"items"`
}

// ReviewItem is one piece of access under review.
type ReviewItem struct {
	// ID names the item in decisions: the grant id, member:<user>,
	// service-account:<team>/<name> or the token id.
	ID      string `json:"id"`
	Subject string `json:"subject"`
	GrantID string `json:"grant_id,omitempty"`
	// Principal holds the access; they never decide on it.
	Principal string `json:"principal"`
	// Kind is the grant's kind, or the subject for other items.
	Kind       string             `json:"kind"`
	Role       string             `json:"role,omitempty"`
	Scope      *events.GrantScope `json:"scope,omitempty"`
	StartsAt   time.Time          `json:"starts_at"`
	ExpiresAt  *time.Time         `json:"expires_at,omitempty"`
	LastUsedAt *time.Time         `json:"last_used_at,omitempty"`
	// Decision is keep or revoke ("" until decided).
	Decision  string     `json:"decision,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// Outcome: kept, revoked (by decision), revoked-unreviewed (a grant at
	// the deadline), unreviewed (other access at the deadline: kept, and
	// flagged in the export), ended (the grant ended on its own first).
	Outcome string `json:"outcome,omitempty"`
}

// Holding is standing access a review covers besides grants.
type Holding struct {
	ID, Subject, Principal, Role string
	Since                        time.Time
	ExpiresAt, LastUsedAt        *time.Time
}
