package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
)

// decideClient asks the access service for a decision over NATS.
type decideClient struct {
	nc      *nats.Conn
	timeout time.Duration
}

// newDecideClient builds a client with a per-request timeout.
func newDecideClient(nc *nats.Conn, timeout time.Duration) *decideClient {
	return &decideClient{nc: nc, timeout: timeout}
}

// Decide asks pave.access.authorize.
func (c *decideClient) Decide(ctx context.Context, r policy.Request) (policy.Decision, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return policy.Decision{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, rpc.Authorize, body)
	if err != nil {
		return policy.Decision{}, fmt.Errorf("ask access service: %w", err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return policy.Decision{}, errors.New("access service: " + code + " " + msg.Header.Get("Nats-Service-Error"))
	}
	var d policy.Decision
	if err := json.Unmarshal(msg.Data, &d); err != nil {
		return policy.Decision{}, fmt.Errorf("access service reply: %w", err)
	}
	return d, nil
}
