// Package ports turns NATS requests into access service calls.
package ports

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/pave-platform/pave/pkg/authn"
)

// Authenticator is the app call this port serves.
type Authenticator interface {
	Handle(ctx context.Context, secret string) (authn.Principal, error)
}

// ServeAuthn answers authn.SubjectAuthenticate as a NATS micro service,
// load-balanced across access replicas by its queue group.
func ServeAuthn(nc *nats.Conn, a Authenticator, log *slog.Logger) (micro.Service, error) {
	return micro.AddService(nc, micro.Config{
		Name:        "pave-access",
		Version:     "0.1.0",
		Description: "identities and decisions",
		Endpoint: &micro.EndpointConfig{
			Subject: authn.SubjectAuthenticate,
			Handler: micro.HandlerFunc(func(req micro.Request) { authenticate(req, a, log) }),
		},
	})
}

func authenticate(req micro.Request, a Authenticator, log *slog.Logger) {
	var in authn.Request
	if err := json.Unmarshal(req.Data(), &in); err != nil {
		respond(req, authn.Reply{Error: authn.ErrUnauthenticated.Error()}, log)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	p, err := a.Handle(ctx, in.Token)
	switch {
	case errors.Is(err, authn.ErrUnauthenticated):
		respond(req, authn.Reply{Error: authn.ErrUnauthenticated.Error(), Reason: authn.ReasonOf(err)}, log)
	case err != nil:
		log.Error("authenticate", "error", err) // never the token itself
		respond(req, authn.Reply{Error: "internal error"}, log)
	default:
		respond(req, authn.Reply{Principal: &p}, log)
	}
}

func respond(req micro.Request, r authn.Reply, log *slog.Logger) {
	if err := req.RespondJSON(r); err != nil {
		log.Warn("authenticate reply not sent", "error", err)
	}
}
