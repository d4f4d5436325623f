package ports

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// SubjectCredentials is the request/reply subject of the credentials of a
// resource. Only the gateway calls it, for callers allowed to see them.
const SubjectCredentials = "pave.provisioning.credentials"

// CredentialsRequest names the resource; it travels as the rpc.Request
// body (or as path values of the same names).
type CredentialsRequest struct {
	EnvironmentID string `json:"environment_id"`
	ResourceID    string `json:"resource_id"`
}

// CredentialsReply is the rpc.Reply body on success: the login.
type CredentialsReply struct {
	Username string `json:"username"`
	Password string `json:"password"`
	URL      string `json:"url"`
}

// CredentialsGetter is the app query this port serves.
type CredentialsGetter interface {
	Get(ctx context.Context, environmentID, resourceID string) (app.Login, error)
}

// ServeCredentials answers SubjectCredentials as a NATS micro service,
// load-balanced across replicas. It never logs what it hands out.
// Further endpoints (grant logins, the drift sweep) join the same service.
func ServeCredentials(nc *nats.Conn, q CredentialsGetter, log *slog.Logger, more ...rpc.Endpoint) (micro.Service, error) {
	return rpc.Serve(nc, "pave-provisioning", "0.1.0", log, append([]rpc.Endpoint{{
		Name: "credentials", Subject: SubjectCredentials,
		Handler: func(ctx context.Context, req rpc.Request) rpc.Reply { return credentials(ctx, q, req, log) },
	}}, more...)...)
}

func credentials(ctx context.Context, q CredentialsGetter, req rpc.Request, log *slog.Logger) rpc.Reply {
	in := CredentialsRequest{EnvironmentID: req.Path["environment_id"], ResourceID: req.Path["resource_id"]}
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &in); err != nil {
			return rpc.Fail(http.StatusBadRequest, "Bad Request", "the body is not a credentials request")
		}
	}
	if in.EnvironmentID == "" || in.ResourceID == "" {
		return rpc.Fail(http.StatusBadRequest, "Bad Request", "environment_id and resource_id are required",
			rpc.FieldError{Field: "resource_id", Message: "required, with environment_id"})
	}
	login, err := q.Get(ctx, in.EnvironmentID, in.ResourceID)
	switch {
	case errors.Is(err, app.ErrNoCredentials):
		return rpc.NotFound("credentials of resource", in.ResourceID)
	case err != nil:
		log.ErrorContext(ctx, "credentials", "resource", in.ResourceID, "environment", in.EnvironmentID, "error", err)
		return rpc.Fail(http.StatusInternalServerError, "Internal error", "the credentials could not be read")
	}
	// Defence in depth: a caller that names itself must be in the team.
	if req.Principal.ID != "" && login.Team != "" && !req.Principal.InTeam(login.Team) {
		return rpc.NotFound("credentials of resource", in.ResourceID)
	}
	c := login.Credentials
	return rpc.OK(http.StatusOK, CredentialsReply{Username: c.Username, Password: c.Password, URL: c.URL})
}
