package automate

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
)

// Config is the part's configuration.
type Config struct {
	// File holds automations from configuration (deploy/automations.yaml
	// shows the shape); empty: only those made through the API.
	File string `env:"PAVE_AUTOMATIONS_FILE"`
	// Dora names production and the failure window of DORA metrics.
	Dora DoraConfig
	// Incidents holds the incident tools' webhook secrets.
	Incidents IncidentConfig
}

// Stores are the part's three buckets.
type Stores struct {
	Types *Types
	Rules *Rules
	Runs  *Runs
	Dora  *Dora
}

// Open declares the buckets and reads the configured automations.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, c Config) (Stores, error) {
	configured, err := LoadFile(c.File)
	if err != nil {
		return Stores{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	types, err := kv.Open[EventType](ctx, js, TypesSpec(replicas))
	if err != nil {
		return Stores{}, err
	}
	rules, err := kv.Open[Automation](ctx, js, RulesSpec(replicas))
	if err != nil {
		return Stores{}, err
	}
	runs, err := kv.Open[Run](ctx, js, RunsSpec(replicas))
	if err != nil {
		return Stores{}, err
	}
	facts, err := kv.Open[Fact](ctx, js, DoraSpec(replicas))
	if err != nil {
		return Stores{}, err
	}
	return Stores{Types: NewTypes(types), Rules: NewRules(rules, configured), Runs: NewRuns(runs), Dora: NewDora(facts, c.Dora)}, nil
}
