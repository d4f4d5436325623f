package automate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pave-platform/pave/pkg/kv"
)

// Buckets of the automations and their runs.
const (
	RulesBucket = "GATEWAY_AUTOMATIONS"
	RunsBucket  = "GATEWAY_AUTOMATION_RUNS"
)

// Bounds: rules per team, bytes of each bucket, how long a run is kept.
const (
	MaxRulesPerTeam = 100
	rulesMaxBytes   = 16 << 20
	runsMaxBytes    = 128 << 20
	RunRetention    = 30 * 24 * time.Hour
)

// RulesSpec and RunsSpec declare the buckets.
func RulesSpec(replicas int) kv.Spec {
	return kv.Spec{Bucket: RulesBucket, Description: "automations made through the API", Replicas: replicas, MaxBytes: rulesMaxBytes}
}

// RunsSpec keeps a run for RunRetention after its last write.
func RunsSpec(replicas int) kv.Spec {
	return kv.Spec{Bucket: RunsBucket, Description: "automation runs, one per automation and event", Replicas: replicas,
		MaxBytes: runsMaxBytes, TTL: RunRetention}
}

// Rules are the automations of the configuration file (read-only) and
// those made through the API.
type Rules struct {
	table  *kv.Table[Automation]
	config []Automation
}

// NewRules serves the API's rules and the configured ones.
func NewRules(t *kv.Table[Automation], config []Automation) *Rules {
	return &Rules{table: t, config: config}
}

// ErrReadOnly is a configured automation asked to change through the API.
var ErrReadOnly = errors.New("configured in PAVE_AUTOMATIONS_FILE; change it there")

// All lists every automation, configured ones first.
func (rs *Rules) All(ctx context.Context) ([]Automation, error) {
	es, err := rs.table.List(ctx, ">")
	if err != nil {
		return nil, err
	}
	out := append([]Automation{}, rs.config...)
	for _, e := range es {
		out = append(out, e.Value)
	}
	return out, nil
}

// OfTeam lists one team's automations ("" for all).
func (rs *Rules) OfTeam(ctx context.Context, team string) ([]Automation, error) {
	all, err := rs.All(ctx)
	if err != nil || team == "" {
		return all, err
	}
	out := []Automation{}
	for _, a := range all {
		if a.Team == team {
			out = append(out, a)
		}
	}
	return out, nil
}

// Get finds one automation.
func (rs *Rules) Get(ctx context.Context, id string) (Automation, error) {
	for _, a := range rs.config {
		if a.ID == id {
			return a, nil
		}
	}
	a, _, err := rs.table.Get(ctx, id)
	return a, err
}

// Create stores a new automation made through the API.
func (rs *Rules) Create(ctx context.Context, a Automation) error {
	if _, err := rs.Get(ctx, a.ID); err == nil {
		return fmt.Errorf("automation %s: %w", a.ID, ErrExists)
	}
	mine, err := rs.OfTeam(ctx, a.Team)
	if err != nil {
		return err
	}
	if len(mine) >= MaxRulesPerTeam {
		return fmt.Errorf("team %s has %d automations: %w", a.Team, len(mine), ErrLimit)
	}
	if _, err := rs.table.Create(ctx, a.ID, a); errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("automation %s: %w", a.ID, ErrExists)
	} else if err != nil {
		return err
	}
	return nil
}

// Delete removes an automation made through the API.
func (rs *Rules) Delete(ctx context.Context, id string) error {
	a, err := rs.Get(ctx, id)
	if err != nil {
		return err
	}
	if a.Origin == OriginConfig {
		return ErrReadOnly
	}
	return rs.table.Delete(ctx, id, 0)
}

// Origins of an automation.
const (
	OriginConfig = "config"
	OriginAPI    = "api"
)

// LoadFile reads PAVE_AUTOMATIONS_FILE ("" is none): a YAML list under
// automations:, each checked like one posted to the API.
func LoadFile(file string) ([]Automation, error) {
	if file == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("PAVE_AUTOMATIONS_FILE: %w", err)
	}
	var doc struct {
		Automations []struct {
			Team           string `yaml:"team"`
			Name           string `yaml:"name"`
			ServiceAccount string `yaml:"service_account"`
			On             Match  `yaml:"on"`
			Do             Action `yaml:"do"`
		} `yaml:"automations"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("PAVE_AUTOMATIONS_FILE %s: %w", file, err)
	}
	out := make([]Automation, 0, len(doc.Automations))
	for i, d := range doc.Automations {
		a := Automation{ID: d.Team + "." + d.Name, Team: d.Team, Name: d.Name, ServiceAccount: d.ServiceAccount,
			On: d.On, Do: d.Do, Origin: OriginConfig}
		a.On.Data, _ = normal(a.On.Data).(map[string]any)
		a.Do.Body, _ = normal(a.Do.Body).(map[string]any)
		if errs := a.Check(); len(errs) > 0 {
			return nil, fmt.Errorf("PAVE_AUTOMATIONS_FILE %s: automations[%d].%s: %s", file, i, errs[0].Field, errs[0].Message)
		}
		out = append(out, a)
	}
	return out, nil
}

// Run is one automation on one event.
type Run struct {
	Automation  string    `json:"automation"`
	EventID     string    `json:"event_id"`
	EventSource string    `json:"event_source"`
	EventType   string    `json:"event_type"`
	State       string    `json:"state"` // running, succeeded, failed, refused
	Reason      string    `json:"reason,omitempty"`
	As          string    `json:"as"`
	Call        *Call     `json:"call,omitempty"`
	Status      int       `json:"status,omitempty"`
	Result      any       `json:"result,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
}

// Run states.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunRefused   = "refused"
)

// Runs is the run ledger.
type Runs struct{ table *kv.Table[Run] }

// NewRuns serves the runs bucket.
func NewRuns(t *kv.Table[Run]) *Runs { return &Runs{table: t} }

// Of lists an automation's runs, newest first, at most limit.
func (r *Runs) Of(ctx context.Context, automation string, limit int) ([]Run, error) {
	es, err := r.table.List(ctx, automation+".*")
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(es))
	for _, e := range es {
		out = append(out, e.Value)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
