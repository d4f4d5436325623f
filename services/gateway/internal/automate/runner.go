package automate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

// Durable is the runner's consumer of INGRESS.
const Durable = "gateway-automations"

// ConsumerSpec reads every ingress event.
func ConsumerSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: bus.StreamIngress, Durable: Durable, FilterSubjects: []string{ingress.SubjectPrefix + ">"}}
}

// Actor makes an API call as a principal through the public API's own
// chain (rate limits, capacity, the Cedar decision, the audit ledger),
// answering the HTTP status and body.
type Actor interface {
	Act(ctx context.Context, p authn.Principal, method, path string, body []byte) (int, []byte)
}

// Caller asks another service (the access service, for a service
// account's role).
type Caller interface {
	Call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error)
}

// Verifier tells who the gateway let an ingress event in for.
type Verifier interface {
	Verify(ctx context.Context, e event.Event) (principal, team string, err error)
}

// Runner runs the automations an ingress event matches.
type Runner struct {
	rules  *Rules
	runs   *Runs
	act    Actor
	access Caller
	stamp  Verifier
	log    *slog.Logger
	now    func() time.Time
}

// NewRunner builds a runner.
func NewRunner(rules *Rules, runs *Runs, act Actor, access Caller, stamp Verifier, log *slog.Logger) *Runner {
	return &Runner{rules: rules, runs: runs, act: act, access: access, stamp: stamp, log: log, now: time.Now}
}

// Handle is the consumer's handler. Only events the gateway bound to a
// team at the door start runs, and only that team's automations.
func (r *Runner) Handle(ctx context.Context, e event.Event) error {
	_, team, err := r.stamp.Verify(ctx, e)
	if errors.Is(err, ingress.ErrUnbound) || (err == nil && team == "") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify event %s: %w", e.ID(), err)
	}
	rules, err := r.rules.OfTeam(ctx, team)
	if err != nil {
		return fmt.Errorf("read automations: %w", err)
	}
	for _, a := range rules {
		if !a.Matches(e, team) {
			continue
		}
		if err := r.runOnce(ctx, a, e); err != nil {
			return err
		}
	}
	return nil
}

// RunKey is the run's key: the automation and the event (source and id,
// which together name a CloudEvent), so each runs once.
func RunKey(automation string, e event.Event) string {
	h := sha256.Sum256([]byte(e.Source() + "\x00" + e.ID()))
	return automation + "." + hex.EncodeToString(h[:16])
}

// runOnce claims the run (a create: a second delivery finds it and does
// nothing), makes the call and records how it ended. A run left
// "running" by a crash is not retried: at most one call per event.
func (r *Runner) runOnce(ctx context.Context, a Automation, e event.Event) error {
	key := RunKey(a.ID, e)
	run := Run{Automation: a.ID, EventID: e.ID(), EventSource: e.Source(), EventType: e.Type(), State: RunRunning,
		As: a.Team + "/" + a.ServiceAccount, StartedAt: r.now().UTC()}
	if _, err := r.runs.table.Create(ctx, key, run); errors.Is(err, kv.ErrConflict) {
		r.log.InfoContext(ctx, "automation already ran for this event", "automation", a.ID, "event_id", e.ID())
		return nil
	} else if err != nil {
		return fmt.Errorf("claim run %s: %w", key, err)
	}
	r.execute(ctx, a, e, &run)
	run.EndedAt = r.now().UTC()
	if _, err := r.runs.table.Put(ctx, key, run); err != nil {
		return fmt.Errorf("record run %s: %w", key, err)
	}
	r.log.InfoContext(ctx, "automation ran", "automation", a.ID, "event_id", e.ID(), "state", run.State, "reason", run.Reason)
	return nil
}

func (r *Runner) execute(ctx context.Context, a Automation, e event.Event, run *Run) {
	call, err := a.Do.Render(e)
	if err != nil {
		run.State, run.Reason = RunFailed, err.Error()
		return
	}
	run.Call = &call
	p, err := r.principal(ctx, a.Team, a.ServiceAccount)
	if err != nil {
		run.State, run.Reason = RunFailed, err.Error()
		return
	}
	callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	status, body := r.act.Act(callCtx, p, call.Method, call.Path, call.Body)
	run.Status = status
	var v map[string]any
	_ = json.Unmarshal(body, &v)
	switch {
	case status < 300:
		run.State, run.Result = RunSucceeded, summary(v)
	case status == http.StatusForbidden:
		run.State, run.Reason = RunRefused, problemText(status, v)
	default:
		run.State, run.Reason = RunFailed, problemText(status, v)
	}
}

// summary keeps what identifies the result (an environment, workload,
// promotion or operation), not the whole answer.
func summary(v map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"id", "operation", "state"} {
		if x, ok := v[k]; ok {
			out[k] = x
		}
	}
	for _, k := range []string{"environment", "workload", "promotion"} {
		if m, ok := v[k].(map[string]any); ok {
			out[k] = map[string]any{"id": m["id"], "state": m["state"]}
		}
	}
	return out
}

func problemText(status int, v map[string]any) string {
	s := fmt.Sprintf("%d %v: %v", status, v["title"], v["detail"])
	if errs, ok := v["errors"].([]any); ok && len(errs) > 0 {
		raw, _ := json.Marshal(errs)
		s += " " + string(raw)
	}
	return s
}

// gateway is the identity the runner reads a service account's role as;
// the action itself runs as the service account.
var gateway = authn.Principal{ID: "gateway", Kind: "service", Name: "gateway", Roles: []string{authn.RolePlatformAdmin}}

// principal is the service account as its own token would present it.
func (r *Runner) principal(ctx context.Context, team, name string) (authn.Principal, error) {
	rep, err := r.access.Call(ctx, rpc.ServiceAccountsList, rpc.Request{Principal: gateway, Path: map[string]string{"team": team}})
	if err != nil {
		return authn.Principal{}, fmt.Errorf("read service account %s/%s: %w", team, name, err)
	}
	if rep.Status != http.StatusOK {
		return authn.Principal{}, fmt.Errorf("service account %s/%s: team %s: %d", team, name, team, rep.Status)
	}
	var list struct {
		Items []struct {
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rep.Body, &list); err != nil {
		return authn.Principal{}, fmt.Errorf("read service account %s/%s: %w", team, name, err)
	}
	for _, sa := range list.Items {
		if sa.Name == name {
			id := team + "/" + name
			return authn.Principal{ID: id, Kind: authn.KindServiceAccount, Name: id, Roles: []string{},
				Teams: []string{team}, TeamRoles: map[string]string{team: sa.Role}}, nil
		}
	}
	return authn.Principal{}, fmt.Errorf("service account %s/%s does not exist", team, name)
}
