package automate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/rpc"
)

// DoraBucket holds the folded facts: <team>.<application>.<kind>.<id>.
const DoraBucket = "GATEWAY_DORA"

// Bounds: the bucket's bytes, how long a fact is kept after its last write.
const (
	doraMaxBytes  = 256 << 20
	DoraRetention = 400 * 24 * time.Hour
)

// DoraSpec declares the bucket.
func DoraSpec(replicas int) kv.Spec {
	return kv.Spec{Bucket: DoraBucket, Description: "DORA facts folded from promotion, deployment, push and incident events",
		Replicas: replicas, MaxBytes: doraMaxBytes, TTL: DoraRetention}
}

// SubjectDora answers GET /v1/dora.
const SubjectDora = "pave.gateway.api.dora"

// Fact is one stored fact; Kind says which fields count.
type Fact struct {
	Kind     string       `json:"kind"` // deploy, commit, failure, incident
	Deploy   DeployFact   `json:"deploy,omitzero"`
	At       time.Time    `json:"at,omitzero"`
	Commit   string       `json:"commit,omitempty"`
	Incident IncidentFact `json:"incident,omitzero"`
}

// DoraConfig names the production stages and the failure window.
type DoraConfig struct {
	// ProductionStages are the stage (and provider environment) names
	// that count as production.
	ProductionStages []string `env:"PAVE_DORA_PRODUCTION_STAGES" envSeparator:"," envDefault:"prod,production"`
	// FailureWindow: a production deployment followed within it by an
	// incident or a reported failed deployment counts as failed.
	FailureWindow time.Duration `env:"PAVE_DORA_FAILURE_WINDOW" envDefault:"24h"`
}

// Dora folds events into facts and answers the metrics.
type Dora struct {
	table *kv.Table[Fact]
	cfg   DoraConfig
}

// NewDora serves the facts bucket.
func NewDora(t *kv.Table[Fact], cfg DoraConfig) *Dora { return &Dora{table: t, cfg: cfg} }

// DoraConsumers are the durable consumers of the fold.
func DoraConsumers() []bus.ConsumerSpec {
	return []bus.ConsumerSpec{
		{Stream: "EVT_LIFECYCLE", Durable: "gateway-dora-promotions", FilterSubjects: []string{"pave.evt.lifecycle.promotion.>"}},
		{Stream: "EVT_GATEWAY", Durable: "gateway-dora-gateway", FilterSubjects: []string{"pave.evt.gateway.git.pushed",
			"pave.evt.gateway.deployment.recorded", "pave.evt.gateway.incident.>"}},
	}
}

var keyToken = regexp.MustCompile(`[^a-z0-9_-]`)

func token(s string) string {
	if s == "" {
		return "_"
	}
	return keyToken.ReplaceAllString(strings.ToLower(s), "_")
}

func hashed(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}

// Fold records what e says. Every write is idempotent (an earliest time,
// a flag set), so a redelivered or resent event, or an edited incident,
// changes nothing.
func (d *Dora) Fold(ctx context.Context, e event.Event) error {
	switch e.Type() {
	case events.TypePromotionApplied, events.TypePromotionPromoted, events.TypePromotionRolledBack, events.TypePromotionFailed:
		var p events.PromotionChanged
		if err := e.DataAs(&p); err != nil {
			return bus.Permanent(err)
		}
		if !d.production(p.ToStage) {
			return nil
		}
		bad := e.Type() == events.TypePromotionRolledBack || e.Type() == events.TypePromotionFailed
		return d.upsert(ctx, p.Team, p.Application, "deploy", p.PromotionID, func(f *Fact, exists bool) {
			f.Kind = "deploy"
			if !exists || p.At.Before(f.Deploy.At) {
				f.Deploy.At = p.At
			}
			if p.Commit != "" {
				f.Deploy.Commit = p.Commit
			}
			if bad && (!f.Deploy.Failed || p.At.Before(f.Deploy.FailedAt)) {
				f.Deploy.Failed, f.Deploy.FailedAt = true, p.At
			}
		})
	case events.TypeGitPushed:
		var g events.GitPushed
		if err := e.DataAs(&g); err != nil {
			return bus.Permanent(err)
		}
		return d.earliest(ctx, g.Team, g.Application, "commit", g.Commit, g.Commit, e.Time())
	case events.TypeDeploymentRecorded:
		var r events.DeploymentRecorded
		if err := e.DataAs(&r); err != nil {
			return bus.Permanent(err)
		}
		if !d.production(r.Environment) || (r.State != "failure" && r.State != "error") {
			return nil
		}
		return d.earliest(ctx, r.Team, r.Application, "failure", e.Source()+"/"+e.ID(), r.Commit, e.Time())
	case events.TypeIncidentOpened, events.TypeIncidentResolved:
		var in events.Incident
		if err := e.DataAs(&in); err != nil {
			return bus.Permanent(err)
		}
		opened := e.Type() == events.TypeIncidentOpened
		return d.upsert(ctx, in.Team, in.Application, "incident", in.Provider+"/"+in.IncidentID, func(f *Fact, _ bool) {
			f.Kind = "incident"
			if opened && (f.Incident.Opened.IsZero() || in.At.Before(f.Incident.Opened)) {
				f.Incident.Opened = in.At
			}
			if !opened && (f.Incident.Resolved.IsZero() || in.At.After(f.Incident.Resolved)) {
				f.Incident.Resolved = in.At
			}
		})
	}
	return nil
}

func (d *Dora) production(stage string) bool { return slices.Contains(d.cfg.ProductionStages, stage) }

func (d *Dora) earliest(ctx context.Context, team, app, kind, id, commit string, at time.Time) error {
	return d.upsert(ctx, team, app, kind, id, func(f *Fact, exists bool) {
		f.Kind, f.Commit = kind, commit
		if !exists || at.Before(f.At) {
			f.At = at
		}
	})
}

func (d *Dora) upsert(ctx context.Context, team, app, kind, id string, fn func(*Fact, bool)) error {
	key := token(team) + "." + token(app) + "." + kind + "." + hashed(id)
	_, _, err := d.table.Upsert(ctx, key, func(f *Fact, exists bool) error {
		before := *f
		fn(f, exists)
		if exists && before == *f {
			return kv.ErrUnchanged
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fold %s %s: %w", kind, id, err)
	}
	return nil
}

// Facts reads the facts of team (and application, "" for all), per application.
func (d *Dora) Facts(ctx context.Context, team, app string) (map[string]Facts, error) {
	filter := token(team) + ".>"
	if app != "" {
		filter = token(team) + "." + token(app) + ".>"
	}
	es, err := d.table.List(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := map[string]Facts{}
	for _, e := range es {
		parts := strings.SplitN(e.Key, ".", 4)
		f := out[parts[1]]
		if f.Commits == nil {
			f.Commits = map[string]time.Time{}
		}
		switch v := e.Value; v.Kind {
		case "deploy":
			f.Deployments = append(f.Deployments, v.Deploy)
		case "commit":
			f.Commits[v.Commit] = v.At
		case "failure":
			f.Failures = append(f.Failures, CommitAt{Commit: v.Commit, At: v.At})
		case "incident":
			f.Incidents = append(f.Incidents, v.Incident)
		}
		out[parts[1]] = f
	}
	return out, nil
}

// Answer is GET /v1/dora: a team's or an application's metrics.
func (d *Dora) Answer(ctx context.Context, req rpc.Request) rpc.Reply {
	q := req.Query
	team, app := q["team"], q["application"]
	if team == "" {
		return rpc.Invalid(rpc.FieldError{Field: "team", Message: "is required"})
	}
	to, from := time.Now().UTC(), time.Time{}
	var errs []rpc.FieldError
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q[p.name]; s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				errs = append(errs, rpc.FieldError{Field: p.name, Message: "must be an RFC 3339 time"})
			}
			*p.dst = t
		}
	}
	if from.IsZero() && len(errs) == 0 {
		from = to.Add(-30 * 24 * time.Hour)
	}
	if len(errs) == 0 && !from.Before(to) {
		errs = append(errs, rpc.FieldError{Field: "from", Message: "must be before to"})
	}
	if len(errs) > 0 {
		return rpc.Invalid(errs...)
	}
	facts, err := d.Facts(ctx, team, app)
	if err != nil {
		return answer(0, nil, err, "", "")
	}
	total := Metrics{}
	apps := map[string]Metrics{}
	for name, f := range facts {
		m := Compute(f, from, to, d.cfg.FailureWindow)
		apps[name] = m
		total = total.Add(m)
	}
	return rpc.OK(http.StatusOK, map[string]any{"team": team, "application": app, "from": from, "to": to,
		"failure_window": d.cfg.FailureWindow.String(), "metrics": total.finish(to.Sub(from)), "applications": apps})
}

// MarshalJSON keeps the unexported samples out.
func (m Metrics) MarshalJSON() ([]byte, error) {
	type plain Metrics
	return json.Marshal(plain(m))
}
