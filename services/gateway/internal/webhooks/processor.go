package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/rpc"
)

// Caller makes a request/reply call to the service that owns a resource.
type Caller interface {
	Call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error)
}

// Processor maps stored deliveries to actions: preview environments in
// lifecycle, and the gateway's git, CI and deployment events.
type Processor struct {
	repos *Repositories
	calls Caller
	pub   Publisher
	log   *slog.Logger
}

// NewProcessor builds a processor.
func NewProcessor(repos *Repositories, calls Caller, pub Publisher, log *slog.Logger) *Processor {
	return &Processor{repos: repos, calls: calls, pub: pub, log: log}
}

// ConsumerSpec is the processor's durable consumer on CMD_GATEWAY.
func ConsumerSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: "CMD_GATEWAY", Durable: "gateway-webhooks",
		FilterSubjects: []string{"pave.cmd.gateway.webhook"}, MaxDeliver: 20,
		Backoff: bus.Backoff{Base: 200 * time.Millisecond, Max: 30 * time.Second}}
}

// Handle applies one stored delivery. Every action is idempotent, so a
// redelivery after a crash does nothing twice.
func (p *Processor) Handle(ctx context.Context, e event.Event) error {
	var d storedDelivery
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		return bus.Permanent(fmt.Errorf("stored delivery %s: %w", e.ID(), err))
	}
	repo, ok := p.repos.Lookup(d.Provider, d.Repository)
	if !ok {
		return bus.Permanent(fmt.Errorf("delivery %s: repository %s %s is no longer mapped", d.DeliveryID, d.Provider, d.Repository))
	}
	c, err := parse(d)
	if err != nil {
		return bus.Permanent(err)
	}
	log := p.log.With("provider", d.Provider, "delivery", d.DeliveryID, "repository", repo.Name, "event", d.Event)
	switch c.kind {
	case previewOpen:
		return p.openPreview(ctx, log, repo, c)
	case previewUpdate:
		return p.updatePreview(ctx, log, repo, c)
	case previewClose:
		return p.closePreview(ctx, log, repo, c)
	case pushed, ciCompleted, deployment:
		return p.publish(ctx, repo, d, c)
	}
	log.InfoContext(ctx, "webhook delivery needs no action")
	return nil
}

func parse(d storedDelivery) (change, error) {
	switch d.Provider {
	case events.ProviderGitHub:
		return parseGitHub(d.Event, d.Body)
	case events.ProviderGitLab:
		return parseGitLab(d.Event, d.Body)
	case events.ProviderCI:
		return parseCI(d.Body)
	}
	return change{}, fmt.Errorf("delivery %s: unknown provider %q", d.DeliveryID, d.Provider)
}

// publish turns a push, CI run or deployment into the gateway's event,
// with an id derived from the delivery so a redelivery is deduplicated.
func (p *Processor) publish(ctx context.Context, repo *Repository, d storedDelivery, c change) error {
	var typ string
	var data any
	switch c.kind {
	case pushed:
		typ = events.TypeGitPushed
		data = events.GitPushed{Provider: d.Provider, Repository: repo.Name, Team: repo.Team, Application: repo.Application,
			Branch: c.branch, Commit: c.commit, DefaultBranch: c.defaultBranch, DeliveryID: d.DeliveryID, Sender: c.sender}
	case ciCompleted:
		typ = events.TypeCICompleted
		data = events.CICompleted{Provider: d.Provider, Repository: repo.Name, Team: repo.Team, Application: repo.Application,
			Commit: c.commit, Conclusion: c.conclusion, Name: c.name, URL: c.url, DeliveryID: d.DeliveryID}
	default:
		typ = events.TypeDeploymentRecorded
		data = events.DeploymentRecorded{Provider: d.Provider, Repository: repo.Name, Team: repo.Team, Application: repo.Application,
			Commit: c.commit, Environment: c.environment, State: c.state, URL: c.url, DeliveryID: d.DeliveryID}
	}
	e, err := bus.NewEvent("gateway/"+d.Provider+"/"+d.DeliveryID+"/"+typ, "pave/gateway/webhooks/"+d.Provider, typ, data)
	if err != nil {
		return bus.Permanent(err)
	}
	e.SetSubject(repo.Name + "@" + c.commit)
	// Bound to its sender: the repository the signature authenticated,
	// speaking for the team the repositories file maps it to.
	e.SetExtension(events.ExtPrincipal, principal(repo).ID)
	e.SetExtension(events.ExtTeam, repo.Team)
	return p.pub.Publish(ctx, e)
}

// principal is who the processor acts as toward lifecycle: the
// repository, a developer of its mapped team only.
func principal(repo *Repository) authn.Principal {
	id := "webhook:" + repo.Provider + ":" + repo.Name
	return authn.Principal{ID: id, Kind: "service", Name: id, Teams: []string{repo.Team},
		TeamRoles: map[string]string{repo.Team: "developer"}}
}

// PreviewName is the environment of pull/merge request n: pr-<n>, after
// the application's name when one is mapped.
func PreviewName(repo *Repository, n int) string {
	name := "pr-" + strconv.Itoa(n)
	if repo.Application == "" {
		return name
	}
	prefix := repo.Application
	if len(prefix)+1+len(name) > 40 {
		prefix = strings.TrimRight(prefix[:40-1-len(name)], "-")
	}
	return prefix + "-" + name
}

// parameters fills the repository's parameters: a value "${pull_request}"
// becomes the number, "${branch}" the head branch, "${commit}" the sha.
func parameters(repo *Repository, c change) map[string]any {
	out := make(map[string]any, len(repo.Parameters))
	for k, v := range repo.Parameters {
		switch v {
		case "${pull_request}":
			out[k] = c.number
		case "${branch}":
			out[k] = c.branch
		case "${commit}":
			out[k] = c.commit
		default:
			out[k] = v
		}
	}
	return out
}

// envSummary is the part of lifecycle's environment the processor reads.
type envSummary struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Commit string `json:"commit"`
}

// errCall is a failed call: transient unless the answer says the input
// is wrong, which a retry cannot cure.
func errCall(what string, rep rpc.Reply) error {
	detail := http.StatusText(rep.Status)
	if rep.Problem != nil {
		detail = rep.Problem.Detail
	}
	err := fmt.Errorf("%s: lifecycle answered %d: %s", what, rep.Status, detail)
	if rep.Status == http.StatusUnprocessableEntity || rep.Status == http.StatusBadRequest || rep.Status == http.StatusForbidden {
		return bus.Permanent(err)
	}
	return err
}

func (p *Processor) call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error) {
	rep, err := p.calls.Call(ctx, subject, req)
	if err != nil {
		return rpc.Reply{}, fmt.Errorf("call %s: %w", subject, err)
	}
	return rep, nil
}

// findPreview looks the live (not deleted) environment up by team and
// name: lifecycle lists only live ones, and a live name is unique in a team.
func (p *Processor) findPreview(ctx context.Context, repo *Repository, name string) (envSummary, bool, error) {
	q := map[string]string{"team": repo.Team, "name": name}
	rep, err := p.call(ctx, rpc.EnvironmentsList, rpc.Request{Principal: principal(repo), Query: q})
	if err != nil {
		return envSummary{}, false, err
	}
	if rep.Status != http.StatusOK {
		return envSummary{}, false, errCall("list environments of team "+repo.Team, rep)
	}
	var page struct {
		Items []envSummary `json:"items"`
	}
	if err := json.Unmarshal(rep.Body, &page); err != nil {
		return envSummary{}, false, fmt.Errorf("list environments: %w", err)
	}
	for _, e := range page.Items {
		if e.Name == name && e.State != "deleted" {
			return e, true, nil
		}
	}
	return envSummary{}, false, nil
}
