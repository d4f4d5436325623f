package automate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"encoding/json"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/gateway/internal/ingress"
)

// TypesBucket holds the custom event types, keyed by type.
const TypesBucket = "GATEWAY_EVENT_TYPES"

// Bounds of the custom types.
const (
	MaxTypesPerTeam = 50
	MaxSchemaBytes  = 64 << 10
	typesMaxBytes   = 16 << 20
	// typeCacheTTL is how long a replica trusts its compiled copy of a
	// type before reading the bucket again (a delete elsewhere shows
	// within it).
	typeCacheTTL = 10 * time.Second
)

// EventType is one custom type as stored and listed.
type EventType struct {
	Type        string          `json:"type"`
	Team        string          `json:"team"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
}

type cached struct {
	schema  *schema.Schema // nil: the type does not exist
	fetched time.Time
}

// Types is the custom types: a bounded bucket and a cache of compiled
// schemas (at most one entry per type that exists or was asked for
// recently, trimmed when it passes maxCached).
type Types struct {
	table *kv.Table[EventType]
	now   func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

const maxCached = 4096

// NewTypes serves the types bucket.
func NewTypes(t *kv.Table[EventType]) *Types {
	return &Types{table: t, now: time.Now, cache: map[string]cached{}}
}

// TypesSpec is the bucket's declaration.
func TypesSpec(replicas int) kv.Spec {
	return kv.Spec{Bucket: TypesBucket, Description: "custom event types registered by teams", Replicas: replicas, MaxBytes: typesMaxBytes}
}

// ErrExists is a type or automation that is already there.
var ErrExists = errors.New("already exists")

// ErrLimit is a team at its bound.
var ErrLimit = errors.New("limit reached")

// Register stores a type after checking its name and compiling its schema.
func (ts *Types) Register(ctx context.Context, et EventType) (EventType, error) {
	if _, err := schema.Compile(et.Type, et.Schema); err != nil {
		return EventType{}, err
	}
	mine, err := ts.List(ctx, et.Team)
	if err != nil {
		return EventType{}, err
	}
	if len(mine) >= MaxTypesPerTeam {
		return EventType{}, fmt.Errorf("team %s has %d custom types: %w", et.Team, len(mine), ErrLimit)
	}
	et.CreatedAt = ts.now().UTC()
	if _, err := ts.table.Create(ctx, et.Type, et); errors.Is(err, kv.ErrConflict) {
		return EventType{}, fmt.Errorf("type %s: %w", et.Type, ErrExists)
	} else if err != nil {
		return EventType{}, err
	}
	ts.forget(et.Type)
	return et, nil
}

// Get reads one type.
func (ts *Types) Get(ctx context.Context, eventType string) (EventType, error) {
	et, _, err := ts.table.Get(ctx, eventType)
	return et, err
}

// Delete forgets a type; events of it are refused again.
func (ts *Types) Delete(ctx context.Context, eventType string) error {
	if _, _, err := ts.table.Get(ctx, eventType); err != nil {
		return err
	}
	ts.forget(eventType)
	return ts.table.Delete(ctx, eventType, 0)
}

// List reads the types of team ("" for every team).
func (ts *Types) List(ctx context.Context, team string) ([]EventType, error) {
	filter := ">"
	if team != "" {
		filter = ingress.CustomPrefix + team + ".>"
	}
	es, err := ts.table.List(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make([]EventType, 0, len(es))
	for _, e := range es {
		out = append(out, e.Value)
	}
	return out, nil
}

func (ts *Types) forget(eventType string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	delete(ts.cache, eventType)
}

// compiled is the schema of a custom type (nil when there is none).
func (ts *Types) compiled(eventType string) (*schema.Schema, error) {
	now := ts.now()
	ts.mu.Lock()
	c, ok := ts.cache[eventType]
	ts.mu.Unlock()
	if ok && now.Sub(c.fetched) < typeCacheTTL {
		return c.schema, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	et, _, err := ts.table.Get(ctx, eventType)
	var sch *schema.Schema
	switch {
	case errors.Is(err, kv.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if sch, err = schema.Compile(eventType, et.Schema); err != nil {
			return nil, err
		}
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.cache) >= maxCached {
		clear(ts.cache)
	}
	ts.cache[eventType] = cached{schema: sch, fetched: now}
	return sch, nil
}

// Registry is Pave's own types and the teams' custom ones: what the
// ingress and the gateway's consumers of INGRESS validate with.
type Registry struct {
	Base   *schema.Registry
	Custom *Types
}

// Has reports whether eventType is known.
func (r Registry) Has(eventType string) bool {
	if _, ok := ingress.CustomTeam(eventType); !ok {
		return r.Base.Has(eventType)
	}
	s, err := r.Custom.compiled(eventType)
	return err == nil && s != nil
}

// Validate checks data against the type's schema.
func (r Registry) Validate(eventType string, data []byte) error {
	if _, ok := ingress.CustomTeam(eventType); !ok {
		return r.Base.Validate(eventType, data)
	}
	s, err := r.Custom.compiled(eventType)
	if err != nil {
		return fmt.Errorf("read custom type %s: %w", eventType, err)
	}
	if s == nil {
		return fmt.Errorf("%w %q", schema.ErrUnknownType, eventType)
	}
	return s.Validate(data)
}

// Types lists Pave's types, then the custom ones (GET /v1/events/types).
func (r Registry) Types() []schema.TypeInfo {
	out := r.Base.Types()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	custom, err := r.Custom.List(ctx, "")
	if err != nil {
		return out
	}
	for _, et := range custom {
		out = append(out, schema.TypeInfo{Type: et.Type, Subject: ingress.Subject(et.Type), Schema: et.Schema})
	}
	return out
}
