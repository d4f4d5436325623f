// Package ports turns API calls and JetStream events into lifecycle use cases.
package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Endpoints are the lifecycle API calls the gateway forwards.
func Endpoints(s *app.Service) []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "templates-list", Subject: rpc.TemplatesList, Handler: listTemplates(s)},
		{Name: "templates-get", Subject: rpc.TemplatesGet, Handler: getTemplate(s)},
		{Name: "environments-create", Subject: rpc.EnvironmentsCreate, Handler: createEnvironment(s)},
		{Name: "environments-list", Subject: rpc.EnvironmentsList, Handler: listEnvironments(s)},
		{Name: "environments-get", Subject: rpc.EnvironmentsGet, Handler: getEnvironment(s)},
		{Name: "environments-update", Subject: rpc.EnvironmentsUpdate, Handler: updateEnvironment(s)},
		{Name: "environments-delete", Subject: rpc.EnvironmentsDelete, Handler: deleteEnvironment(s)},
		{Name: "environments-extend", Subject: rpc.EnvironmentsExtend, Handler: extendEnvironment(s)},
	}
}

// createBody is POST /v1/environments.
type createBody struct {
	Team       string         `json:"team"`
	Name       string         `json:"name"`
	Template   string         `json:"template"`
	Version    string         `json:"version"`
	Stage      string         `json:"stage"`
	Parameters map[string]any `json:"parameters"`
	TTL        string         `json:"ttl"`
	// Commit is the source commit revision 1 runs (40-hex), optional.
	Commit string `json:"commit"`
}

func createEnvironment(s *app.Service) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		var b createBody
		if rep, ok := decode(req.Body, &b); !ok {
			return rep
		}
		cr := domain.CreateRequest{Team: b.Team, Name: b.Name, Template: b.Template, Version: b.Version,
			Stage: domain.Stage(b.Stage), Parameters: b.Parameters}
		if b.TTL != "" {
			d, err := time.ParseDuration(b.TTL)
			if err != nil || d <= 0 {
				return rpc.Invalid(rpc.FieldError{Field: "ttl", Message: fmt.Sprintf("%q is not a positive duration like 4h", b.TTL)})
			}
			cr.TTL = d
		}
		if b.Commit != "" && !domain.ValidCommit(b.Commit) {
			return badCommit()
		}
		env, err := s.CreateWithCommit(ctx, req.Principal, cr, b.Commit)
		if err != nil {
			return failure(err)
		}
		return accepted(env)
	}
}

// accepted is the 202 answer: the environment and the operation now
// working on it, with Location naming the operation to poll.
func accepted(env domain.Environment) rpc.Reply {
	body := map[string]any{"environment": view(env), "operation": nil}
	var headers map[string]string
	if op := env.Operation; op != nil {
		body["operation"] = rpc.Operation{ID: op.ID, Kind: string(op.Kind), EnvironmentID: env.ID,
			Team: env.Team, State: "running", Steps: []rpc.OperationStep{}, StartedAt: op.StartedAt}
		headers = map[string]string{"Location": "/v1/operations/" + op.ID}
	}
	rep := rpc.OK(http.StatusAccepted, body)
	rep.Headers = headers
	return rep
}

// envKey orders environment lists as the store does (creation time,
// then id) in a string, for keyset paging.
func envKey(v environmentView) string {
	return v.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "/" + v.ID
}

func listEnvironments(s *app.Service) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		f := app.Filter{Team: req.Query["team"], Stage: req.Query["stage"], State: req.Query["state"], Name: req.Query["name"]}
		if f.State != "" && !knownState(f.State) {
			return rpc.Invalid(rpc.FieldError{Field: "query.state", Message: fmt.Sprintf("unknown state %q", f.State)})
		}
		pq, bad := rpc.ParsePage(req.Query)
		if bad != nil {
			return *bad
		}
		envs, err := s.List(ctx, req.Principal, f)
		if err != nil {
			return failure(err)
		}
		items := make([]environmentView, 0, len(envs))
		for _, e := range envs {
			items = append(items, view(e))
		}
		return rpc.PageReply(rpc.Page(items, envKey, pq))
	}
}

func getEnvironment(s *app.Service) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		env, err := s.Get(ctx, req.Principal, req.Path["id"])
		if err != nil {
			return failure(err)
		}
		return rpc.WithETag(rpc.OK(http.StatusOK, view(env)))
	}
}

func deleteEnvironment(s *app.Service) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		// If-Match: delete only the environment as the caller last read it.
		if req.IfMatch != "" {
			if rep, ok := rpc.CheckIfMatch(req, getEnvironment(s)(ctx, req)); !ok {
				return rep
			}
		}
		env, err := s.Delete(ctx, req.Principal, req.Path["id"], "deleted by "+req.Principal.ID)
		if err != nil {
			return failure(err)
		}
		return accepted(env)
	}
}

func updateEnvironment(s *app.Service) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		var b struct {
			Parameters map[string]any `json:"parameters"`
			Commit     string         `json:"commit"`
		}
		if rep, ok := decode(req.Body, &b); !ok {
			return rep
		}
		// If-Match: the update applies only to the environment as the
		// caller last read it (its ETag); without it, to the current one.
		if req.IfMatch != "" {
			if rep, ok := rpc.CheckIfMatch(req, getEnvironment(s)(ctx, req)); !ok {
				return rep
			}
		}
		if b.Commit != "" && !domain.ValidCommit(b.Commit) {
			return badCommit()
		}
		env, err := s.UpdateWithCommit(ctx, req.Principal, req.Path["id"], b.Parameters, b.Commit)
		if err != nil {
			return failure(err)
		}
		return accepted(env)
	}
}

func extendEnvironment(s *app.Service) rpc.Handler {
	return func(ctx context.Context, req rpc.Request) rpc.Reply {
		var b struct {
			TTL  string `json:"ttl"`
			Keep *bool  `json:"keep"`
		}
		if rep, ok := decode(req.Body, &b); !ok {
			return rep
		}
		var d time.Duration
		if b.TTL != "" {
			var err error
			if d, err = time.ParseDuration(b.TTL); err != nil || d <= 0 {
				return rpc.Invalid(rpc.FieldError{Field: "ttl", Message: fmt.Sprintf("%q is not a positive duration like 4h", b.TTL)})
			}
		}
		if d == 0 && b.Keep == nil {
			return rpc.Invalid(rpc.FieldError{Field: "ttl", Message: "give ttl, keep, or both"})
		}
		env, err := s.Extend(ctx, req.Principal, req.Path["id"], d, b.Keep)
		if errors.Is(err, domain.ErrNotEphemeral) && d == 0 {
			return rpc.Invalid(rpc.FieldError{Field: "keep", Message: "the environment is persistent: it never expires"})
		}
		if err != nil {
			return failure(err)
		}
		return rpc.OK(http.StatusOK, view(env))
	}
}

func decode(body json.RawMessage, v any) (rpc.Reply, bool) {
	if len(body) == 0 {
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: "a JSON object is required"}), false
	}
	if err := json.Unmarshal(body, v); err != nil {
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: err.Error()}), false
	}
	return rpc.Reply{}, true
}

// failure maps a use-case error to an answer naming the field.
func failure(err error) rpc.Reply {
	var verr *domain.ValidationError
	var terr *domain.TransitionError
	var ferr *app.FullError
	switch {
	case errors.As(err, &ferr):
		rep := rpc.Fail(http.StatusServiceUnavailable, "Service Unavailable", ferr.Error())
		rep.Headers = map[string]string{"Retry-After": "30"}
		return rep
	case errors.As(err, &verr):
		fields := make([]rpc.FieldError, len(verr.Fields))
		for i, f := range verr.Fields {
			fields[i] = rpc.FieldError{Field: f.Field, Message: f.Message}
		}
		return rpc.Fail(http.StatusUnprocessableEntity, "Invalid request", verr.Error(), fields...)
	case errors.Is(err, app.ErrNotFound):
		return rpc.Fail(http.StatusNotFound, "Not Found", "no such environment")
	case errors.Is(err, app.ErrNameTaken):
		return rpc.Fail(http.StatusConflict, "Conflict", "the team already has an environment with this name",
			rpc.FieldError{Field: "name", Message: "already used in the team"})
	case errors.Is(err, domain.ErrTTL), errors.Is(err, domain.ErrNotEphemeral):
		return rpc.Fail(http.StatusUnprocessableEntity, "Invalid request", err.Error(),
			rpc.FieldError{Field: "ttl", Message: err.Error()})
	case errors.As(err, &terr):
		return rpc.Fail(http.StatusConflict, "Conflict", err.Error())
	}
	return rpc.Fail(http.StatusInternalServerError, "Internal error", "the lifecycle service failed on this request")
}

func knownState(s string) bool {
	for _, st := range domain.States() {
		if string(st) == s {
			return true
		}
	}
	return false
}
