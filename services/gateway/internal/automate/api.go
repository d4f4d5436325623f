package automate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

// Subjects of the part's API calls; the gateway's route table forwards
// the routes to them after the Cedar decision.
const (
	SubjectTypesCreate       = "pave.gateway.api.eventtypes.create"
	SubjectTypesDelete       = "pave.gateway.api.eventtypes.delete"
	SubjectAutomationsCreate = "pave.gateway.api.automations.create"
	SubjectAutomationsList   = "pave.gateway.api.automations.list"
	SubjectAutomationsGet    = "pave.gateway.api.automations.get"
	SubjectAutomationsDelete = "pave.gateway.api.automations.delete"
	SubjectAutomationsRuns   = "pave.gateway.api.automations.runs"
)

// API answers the part's calls.
type API struct {
	Types *Types
	Rules *Rules
	Runs  *Runs
	Dora  *Dora
}

// Endpoints are the calls, for service.Runtime.ServeRPC.
func (a API) Endpoints() []rpc.Endpoint {
	return []rpc.Endpoint{
		{Name: "eventtypes-create", Subject: SubjectTypesCreate, Handler: a.createType},
		{Name: "eventtypes-delete", Subject: SubjectTypesDelete, Handler: a.deleteType},
		{Name: "automations-create", Subject: SubjectAutomationsCreate, Handler: a.createAutomation},
		{Name: "automations-list", Subject: SubjectAutomationsList, Handler: a.listAutomations},
		{Name: "automations-get", Subject: SubjectAutomationsGet, Handler: a.getAutomation},
		{Name: "automations-delete", Subject: SubjectAutomationsDelete, Handler: a.deleteAutomation},
		{Name: "automations-runs", Subject: SubjectAutomationsRuns, Handler: a.listRuns},
		{Name: "dora", Subject: SubjectDora, Handler: a.Dora.Answer},
	}
}

func (a API) createType(ctx context.Context, req rpc.Request) rpc.Reply {
	var in struct {
		Type        string          `json:"type"`
		Team        string          `json:"team"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(req.Body, &in); err != nil {
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: "not a JSON object: " + err.Error()})
	}
	if err := ingress.ValidCustomType(in.Type); err != nil {
		return rpc.Invalid(rpc.FieldError{Field: "type", Message: err.Error()})
	}
	if team, _ := ingress.CustomTeam(in.Type); team != in.Team {
		return rpc.Invalid(rpc.FieldError{Field: "type", Message: "must be in team " + in.Team + "'s namespace: " + ingress.CustomPrefix + in.Team + ".…"})
	}
	switch {
	case len(in.Schema) == 0:
		return rpc.Invalid(rpc.FieldError{Field: "schema", Message: "is required, a JSON Schema (draft 2020-12)"})
	case len(in.Schema) > MaxSchemaBytes:
		return rpc.Invalid(rpc.FieldError{Field: "schema", Message: "larger than 64 KiB"})
	}
	if _, err := schema.Compile(in.Type, in.Schema); err != nil {
		return rpc.Invalid(rpc.FieldError{Field: "schema", Message: err.Error()})
	}
	et, err := a.Types.Register(ctx, EventType{Type: in.Type, Team: in.Team, Description: in.Description, Schema: in.Schema, CreatedBy: req.Principal.ID})
	return answer(http.StatusCreated, et, err, "event type", in.Type)
}

func (a API) deleteType(ctx context.Context, req rpc.Request) rpc.Reply {
	t := req.Path["type"]
	return answer(http.StatusNoContent, nil, a.Types.Delete(ctx, t), "event type", t)
}

func (a API) createAutomation(ctx context.Context, req rpc.Request) rpc.Reply {
	var in Automation
	if err := json.Unmarshal(req.Body, &in); err != nil {
		return rpc.Invalid(rpc.FieldError{Field: "body", Message: "not an automation: " + err.Error()})
	}
	in.ID, in.Origin, in.CreatedBy, in.CreatedAt = in.Team+"."+in.Name, OriginAPI, req.Principal.ID, time.Now().UTC()
	if errs := in.Check(); len(errs) > 0 {
		return rpc.Invalid(errs...)
	}
	return answer(http.StatusCreated, in, a.Rules.Create(ctx, in), "automation", in.ID)
}

func (a API) listAutomations(ctx context.Context, req rpc.Request) rpc.Reply {
	team := req.Query["team"]
	all, err := a.Rules.OfTeam(ctx, team)
	if err != nil {
		return answer(0, nil, err, "", "")
	}
	if team == "" && !req.Principal.IsPlatformAdmin() {
		mine := []Automation{}
		for _, x := range all {
			if req.Principal.InTeam(x.Team) {
				mine = append(mine, x)
			}
		}
		all = mine
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": all})
}

func (a API) getAutomation(ctx context.Context, req rpc.Request) rpc.Reply {
	x, err := a.Rules.Get(ctx, req.Path["id"])
	return answer(http.StatusOK, x, err, "automation", req.Path["id"])
}

func (a API) deleteAutomation(ctx context.Context, req rpc.Request) rpc.Reply {
	return answer(http.StatusNoContent, nil, a.Rules.Delete(ctx, req.Path["id"]), "automation", req.Path["id"])
}

func (a API) listRuns(ctx context.Context, req rpc.Request) rpc.Reply {
	id := req.Path["id"]
	if _, err := a.Rules.Get(ctx, id); err != nil {
		return answer(0, nil, err, "automation", id)
	}
	limit := 100
	if s := req.Query["limit"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return rpc.Invalid(rpc.FieldError{Field: "limit", Message: "must be 1 to 1000"})
		}
		limit = n
	}
	runs, err := a.Runs.Of(ctx, id, limit)
	if err != nil {
		return answer(0, nil, err, "", "")
	}
	return rpc.OK(http.StatusOK, map[string]any{"items": runs})
}

func answer(status int, v any, err error, kind, id string) rpc.Reply {
	switch {
	case err == nil && status == http.StatusNoContent:
		return rpc.Reply{Status: status}
	case err == nil:
		return rpc.OK(status, v)
	case errors.Is(err, kv.ErrNotFound):
		return rpc.NotFound(kind, id)
	case errors.Is(err, ErrExists):
		return rpc.Fail(http.StatusConflict, "Conflict", kind+" "+id+" already exists", rpc.FieldError{Field: "name", Message: "already exists"})
	case errors.Is(err, ErrReadOnly):
		return rpc.Fail(http.StatusConflict, "Conflict", kind+" "+id+" is "+err.Error())
	case errors.Is(err, ErrLimit):
		return rpc.Fail(http.StatusUnprocessableEntity, "Invalid request", err.Error(), rpc.FieldError{Field: "team", Message: err.Error()})
	case errors.Is(err, schema.ErrBadSchema):
		return rpc.Invalid(rpc.FieldError{Field: "schema", Message: err.Error()})
	}
	return rpc.Fail(http.StatusServiceUnavailable, "Service Unavailable", "the store did not answer: "+strings.TrimSpace(err.Error()))
}
