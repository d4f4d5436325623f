package ports

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// environmentView is an environment as the API shows it: no outbox.
type environmentView struct {
	ID         string                `json:"id"`
	Team       string                `json:"team"`
	Name       string                `json:"name"`
	Template   string                `json:"template"`
	Version    string                `json:"version"`
	Stage      domain.Stage          `json:"stage"`
	State      domain.State          `json:"state"`
	Reason     string                `json:"reason,omitempty"`
	Parameters domain.ResolvedParams `json:"parameters"`
	Revision   int                   `json:"revision"`
	Revisions  []domain.Revision     `json:"revisions"`
	// Commit is the source commit of the current revision, when known.
	Commit    string                  `json:"commit,omitempty"`
	Resources []domain.ResourceStatus `json:"resources"`
	Ephemeral bool                    `json:"ephemeral"`
	ExpiresAt *time.Time              `json:"expires_at,omitempty"`
	Keep      bool                    `json:"keep,omitempty"`
	Operation *domain.Operation       `json:"operation,omitempty"`
	// Admission: the scheduler pool a create queues in and, while it
	// waits, why and where in the queue.
	Admission *domain.Admission `json:"admission,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func view(e domain.Environment) environmentView {
	v := environmentView{
		ID: e.ID, Team: e.Team, Name: e.Name, Template: e.Template, Version: e.Version,
		Stage: e.Stage, State: e.State, Reason: e.Reason, Parameters: e.Parameters,
		Revision: e.Revision, Revisions: e.Revisions, Commit: e.Commit(), Resources: e.Resources,
		Ephemeral: e.Ephemeral, Keep: e.Keep, Operation: e.Operation, Admission: e.Admission,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
	if !e.ExpiresAt.IsZero() {
		v.ExpiresAt = &e.ExpiresAt
	}
	return v
}

// templateView is a template as the API shows it.
type templateView struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Versions    []string          `json:"versions"`
	Description string            `json:"description"`
	Owner       string            `json:"owner"`
	Parameters  map[string]any    `json:"parameters"`
	Resources   []domain.Resource `json:"resources"`
	Lifecycle   domain.Lifecycle  `json:"lifecycle"`
	CostClass   string            `json:"cost_class"`
}

func templateOf(s *app.Service, t domain.Template) templateView {
	return templateView{Name: t.Name, Version: t.Version, Versions: s.Catalog().Versions(t.Name),
		Description: t.Description, Owner: t.Owner, Parameters: t.Parameters, Resources: t.Resources,
		Lifecycle: t.Lifecycle, CostClass: t.CostClass}
}

func listTemplates(s *app.Service) rpc.Handler {
	return func(_ context.Context, req rpc.Request) rpc.Reply {
		pq, bad := rpc.ParsePage(req.Query)
		if bad != nil {
			return *bad
		}
		items := []templateView{}
		for _, name := range s.Catalog().Names() {
			if t, err := s.Catalog().Latest(name); err == nil {
				items = append(items, templateOf(s, t))
			}
		}
		slices.SortFunc(items, func(a, b templateView) int { return strings.Compare(a.Name, b.Name) })
		return rpc.PageReply(rpc.Page(items, func(t templateView) string { return t.Name }, pq))
	}
}

func getTemplate(s *app.Service) rpc.Handler {
	return func(_ context.Context, req rpc.Request) rpc.Reply {
		t, err := s.Catalog().Get(req.Path["name"], req.Query["version"])
		if err != nil {
			return rpc.Fail(http.StatusNotFound, "Not Found", err.Error())
		}
		return rpc.OK(http.StatusOK, templateOf(s, t))
	}
}
