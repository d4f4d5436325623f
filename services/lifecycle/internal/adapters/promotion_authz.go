package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// AccessAuthorizer asks the access service's decision point
// (rpc.Authorize) over NATS request/reply.
type AccessAuthorizer struct {
	nc      *nats.Conn
	timeout time.Duration
}

var _ promotion.Authorizer = (*AccessAuthorizer)(nil)

// NewAccessAuthorizer builds the client with a per-request timeout.
func NewAccessAuthorizer(nc *nats.Conn, timeout time.Duration) *AccessAuthorizer {
	return &AccessAuthorizer{nc: nc, timeout: timeout}
}

// decideRequest and decision mirror access's decide.Request and
// decide.Decision on the wire.
type decideRequest struct {
	Principal authn.Principal          `json:"principal"`
	Action    string                   `json:"action"`
	Resource  promotion.AccessResource `json:"resource"`
	Context   struct{}                 `json:"context"`
}

type decision struct {
	Allowed  bool     `json:"allowed"`
	Policies []string `json:"policies"`
	Errors   []string `json:"errors"`
}

// Authorize returns access's decision; detail names the policies that
// denied.
func (a *AccessAuthorizer) Authorize(ctx context.Context, p authn.Principal, action string, res promotion.AccessResource) (bool, string, error) {
	body, err := json.Marshal(decideRequest{Principal: p, Action: action, Resource: res})
	if err != nil {
		return false, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	msg, err := a.nc.RequestWithContext(ctx, rpc.Authorize, body)
	if err != nil {
		return false, "", fmt.Errorf("ask access %s: %w", rpc.Authorize, err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return false, "", fmt.Errorf("ask access %s: %s %s", rpc.Authorize, code, msg.Header.Get("Nats-Service-Error"))
	}
	var d decision
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		return false, "", fmt.Errorf("decode access decision: %w", err)
	}
	if d.Allowed {
		return true, "", nil
	}
	switch {
	case len(d.Policies) > 0:
		return false, "forbidden by policy " + strings.Join(d.Policies, ", "), nil
	case len(d.Errors) > 0:
		return false, "policy errors: " + strings.Join(d.Errors, "; "), nil
	}
	return false, "no policy permits " + action, nil
}
