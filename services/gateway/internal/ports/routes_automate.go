package ports

import (
	"log/slog"
	"net/http"

	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/gateway/internal/automate"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

// automateRoutes are answered by the gateway's automate part.
var automateRoutes = []route{
	{"POST /v1/events/types", automate.SubjectTypesCreate, nil},
	{"DELETE /v1/events/types/{type}", automate.SubjectTypesDelete, []string{"type"}},
	{"POST /v1/automations", automate.SubjectAutomationsCreate, nil},
	{"GET /v1/automations", automate.SubjectAutomationsList, nil},
	{"GET /v1/automations/{id}", automate.SubjectAutomationsGet, []string{"id"}},
	{"DELETE /v1/automations/{id}", automate.SubjectAutomationsDelete, []string{"id"}},
	{"GET /v1/automations/{id}/runs", automate.SubjectAutomationsRuns, []string{"id"}},
	{"GET /v1/dora", automate.SubjectDora, nil},
}

// automateRules: a custom type belongs to the team its name starts
// with; an automation to the team its id starts with (<team>.<name>).
// Making an automation is team-manage: it acts as one of the team's
// service accounts, like issuing that account a token.
var automateRules = map[string]resolver{
	"POST /v1/events/types":          onTeamBody("event-type:write"),
	"DELETE /v1/events/types/{type}": onCustomType("event-type:write"),
	"POST /v1/automations":           onTeamBody("automation:write"),
	"GET /v1/automations":            onTeamQuery("automation:read"),
	"GET /v1/automations/{id}":       onAutomation("automation:read"),
	"DELETE /v1/automations/{id}":    onAutomation("automation:write"),
	"GET /v1/automations/{id}/runs":  onAutomation("automation:read"),
	"GET /v1/dora":                   onTeamQuery("dora:read"),
}

func onCustomType(action string) resolver {
	return func(w http.ResponseWriter, r *http.Request, _ Caller, log *slog.Logger) (target, bool) {
		t := r.PathValue("type")
		team, ok := ingress.CustomTeam(t)
		if !ok || team == "" {
			WriteReply(w, log, rpc.NotFound("event type", t))
			return target{}, false
		}
		return target{action: action, resource: policy.TeamResource(team), notFound: rpc.NotFound("event type", t).Problem.Detail}, true
	}
}

func onAutomation(action string) resolver {
	return lookup(automate.SubjectAutomationsGet, "automation", func(_ string, v map[string]any) policy.Resource {
		return policy.TeamResource(stringField(v, "team"))
	}, action)
}
