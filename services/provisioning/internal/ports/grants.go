package ports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// GrantSpec is the durable consumer of access's grant events.
func GrantSpec(ackWait time.Duration) bus.ConsumerSpec {
	return bus.ConsumerSpec{
		Stream: "EVT_ACCESS", Durable: "provisioning-grants",
		FilterSubjects: []string{"pave.evt.access.grant.>"},
		MaxDeliver:     1000, AckWait: ackWait, Concurrency: 4,
		Backoff: bus.Backoff{Base: 250 * time.Millisecond, Max: 10 * time.Second},
	}
}

// GrantEvents turns grant activations and revocations into logins made
// and dropped. Only an event that can never apply is dead-lettered; any
// other error (a target down, a lost race, even a refusal) is retried
// with backoff for as long as the consumer's delivery limit allows: a
// revocation must not be given up on.
func GrantEvents(g *app.Grants) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var err error
		switch e.Type() {
		case events.TypeGrantActivated:
			err = handle(ctx, e, func(ctx context.Context, _ string, a events.GrantActivated) error { return g.Activated(ctx, a) })
		case events.TypeGrantRevoked:
			err = handle(ctx, e, func(ctx context.Context, _ string, r events.GrantRevoked) error { return g.Revoked(ctx, r) })
		default:
			return nil
		}
		if errors.Is(err, app.ErrBadGrant) {
			return bus.Permanent(err)
		}
		return err
	}
}

// GrantLoginReply is one item of the rpc.GrantCredentials answer.
type GrantLoginReply struct {
	GrantID    string    `json:"grant_id"`
	ResourceID string    `json:"resource_id"`
	Driver     string    `json:"driver"`
	Username   string    `json:"username"`
	Password   string    `json:"password"`
	URL        string    `json:"url"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// GrantEndpoints are the grant logins of the caller, and the drift sweep
// on demand.
func GrantEndpoints(g *app.Grants, d *app.Drift, log *slog.Logger) []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "grant-credentials", Subject: rpc.GrantCredentials, Handler: func(ctx context.Context, req rpc.Request) rpc.Reply {
			return grantLogins(ctx, g, req, log)
		}},
		{Name: "credential-drift-sweep", Subject: rpc.CredentialDriftSweep, Handler: func(ctx context.Context, _ rpc.Request) rpc.Reply {
			return driftSweep(ctx, d, log)
		}},
	}
}

func grantLogins(ctx context.Context, g *app.Grants, req rpc.Request, log *slog.Logger) rpc.Reply {
	envID := req.Query["environment_id"]
	for _, k := range []string{"environment_id", "id"} { // path values, as the gateway forwards them
		if envID == "" {
			envID = req.Path[k]
		}
	}
	switch {
	case envID == "":
		return rpc.Fail(http.StatusBadRequest, "Bad Request", "environment_id is required",
			rpc.FieldError{Field: "environment_id", Message: "required"})
	case req.Principal.ID == "":
		return rpc.Fail(http.StatusUnauthorized, "Unauthorized", "grant logins are only handed to the principal they were issued to")
	}
	logins, err := g.Mine(ctx, req.Principal.ID, envID)
	if err != nil {
		log.ErrorContext(ctx, "grant credentials", "environment", envID, "error", err)
		return rpc.Fail(http.StatusInternalServerError, "Internal error", "the grant logins could not be read")
	}
	items := make([]GrantLoginReply, 0, len(logins))
	for _, l := range logins {
		items = append(items, GrantLoginReply{GrantID: l.GrantID, ResourceID: l.ResourceID, Driver: l.Driver,
			Username: l.Credentials.Username, Password: l.Credentials.Password, URL: l.Credentials.URL, ExpiresAt: l.ExpiresAt})
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": items})
}

func driftSweep(ctx context.Context, d *app.Drift, log *slog.Logger) rpc.Reply {
	found, err := d.Run(ctx)
	if err != nil {
		log.WarnContext(ctx, "credential drift sweep", "error", err)
	}
	items := make([]events.CredentialDrifted, 0, len(found))
	for _, f := range found {
		item := events.CredentialDrifted{Driver: f.Driver, ResourceID: f.ResourceID, EnvironmentID: f.EnvironmentID,
			Kind: f.Kind, Name: f.Name, GrantID: f.GrantID, Remediated: f.Remediated}
		if f.Err != nil {
			item.Error = f.Err.Error()
		}
		items = append(items, item)
	}
	out := map[string]any{"items": items}
	if err != nil {
		out["error"] = fmt.Sprint(err)
	}
	return rpc.OK(http.StatusOK, out)
}
