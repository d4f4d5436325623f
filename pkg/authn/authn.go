// Package authn is the wire contract of authentication between the
// gateway (and any other caller) and the access service, which owns
// identities and tokens: a NATS request/reply on SubjectAuthenticate.
package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
)

// SubjectAuthenticate is answered by the access service.
const SubjectAuthenticate = "pave.access.authenticate"

// ErrUnauthenticated means the credential is unknown, expired or revoked.
var ErrUnauthenticated = errors.New("unauthenticated")

// Request carries the bearer credential. It travels only over NATS
// request/reply, never in an event.
type Request struct {
	Token string `json:"token"`
}

// Principal is who a credential belongs to.
type Principal struct {
	ID    string   `json:"id"`
	Kind  string   `json:"kind"` // user or service_account
	Name  string   `json:"name"`
	Roles []string `json:"roles"` // platform roles, e.g. platform-admin
	Teams []string `json:"teams,omitempty"`
	// TeamRoles is the principal's role in each of its Teams (viewer,
	// developer, maintainer or admin).
	TeamRoles map[string]string `json:"team_roles,omitempty"`
}

// Kinds of principal.
const (
	KindUser           = "user"
	KindServiceAccount = "service_account"
)

// Platform roles: RolePlatformAdmin sees and does everything;
// RoleAuditor reads everything, including every team's audit records.
const (
	RolePlatformAdmin = "platform-admin"
	RoleAuditor       = "auditor"
)

// IsPlatformAdmin reports whether the principal has the platform-admin role.
func (p Principal) IsPlatformAdmin() bool { return slices.Contains(p.Roles, RolePlatformAdmin) }

// InTeam reports whether the principal may act in team: a member, or a
// platform admin.
func (p Principal) InTeam(team string) bool {
	return p.IsPlatformAdmin() || slices.Contains(p.Teams, team)
}

// Reply is the access service's answer: a principal, or an error code.
type Reply struct {
	Principal *Principal `json:"principal,omitempty"`
	Error     string     `json:"error,omitempty"` // "unauthenticated" or an internal message
	// Reason says why a credential is refused when it is safe to say
	// (a JWT's bad signature, wrong audience, expiry); never the secret.
	Reason string `json:"reason,omitempty"`
}

// UnauthenticatedError is ErrUnauthenticated with a reason the caller may
// show (errors.Is(err, ErrUnauthenticated) holds).
type UnauthenticatedError struct{ Reason string }

func (e *UnauthenticatedError) Error() string { return "unauthenticated: " + e.Reason }

// Is makes the error match ErrUnauthenticated.
func (e *UnauthenticatedError) Is(target error) bool { return target == ErrUnauthenticated }

// ReasonOf is the reason of an authentication failure, or "".
func ReasonOf(err error) string {
	var ue *UnauthenticatedError
	if errors.As(err, &ue) {
		return ue.Reason
	}
	return ""
}

// Client asks the access service who a credential belongs to.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient builds a client with a per-request timeout.
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	return &Client{nc: nc, timeout: timeout}
}

// Authenticate returns the principal or ErrUnauthenticated.
func (c *Client) Authenticate(ctx context.Context, token string) (Principal, error) {
	body, err := json.Marshal(Request{Token: token})
	if err != nil {
		return Principal{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, SubjectAuthenticate, body)
	if err != nil {
		return Principal{}, fmt.Errorf("ask access service: %w", err)
	}
	var r Reply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		return Principal{}, fmt.Errorf("access service reply: %w", err)
	}
	switch {
	case r.Error == ErrUnauthenticated.Error() && r.Reason != "":
		return Principal{}, &UnauthenticatedError{Reason: r.Reason}
	case r.Error == ErrUnauthenticated.Error():
		return Principal{}, ErrUnauthenticated
	case r.Error != "":
		return Principal{}, fmt.Errorf("access service: %s", r.Error)
	case r.Principal == nil:
		return Principal{}, errors.New("access service: empty reply")
	}
	return *r.Principal, nil
}
