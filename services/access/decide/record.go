package decide

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/access/audit"
)

// AuditRecord is the ledger entry of a decision.
func AuditRecord(r Request, d Decision, route string) audit.Record {
	verdict := "deny"
	if d.Allowed {
		verdict = "allow"
	}
	return audit.Record{Kind: audit.KindDecision, Actor: r.Principal.ID, ActorKind: r.Principal.Kind,
		Team: r.Resource.Team, Action: r.Action, Resource: string(r.Resource.Type) + "::" + r.Resource.ID,
		Decision: verdict, Policies: d.Policies, Route: route}
}

// Client asks the access service for a decision over NATS.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient builds a client with a per-request timeout.
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	return &Client{nc: nc, timeout: timeout}
}

// Decide asks pave.access.authorize.
func (c *Client) Decide(ctx context.Context, r Request) (Decision, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return Decision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, rpc.Authorize, body)
	if err != nil {
		return Decision{}, fmt.Errorf("ask access service: %w", err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return Decision{}, errors.New("access service: " + code + " " + msg.Header.Get("Nats-Service-Error"))
	}
	var d Decision
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		return Decision{}, fmt.Errorf("access service reply: %w", err)
	}
	return d, nil
}
