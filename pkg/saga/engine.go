package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/kv"
)

// Engine runs saga instances stored in a JetStream KV bucket. Start and
// Deliver may be called from any goroutine and from any number of engines
// on the same bucket: every write is a compare-and-set on the revision.
// Timers and crash recovery run in the background part (Run, or Launch
// and Stop).
type Engine struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
	// retention: an ended saga's last write carries this TTL (0: kept).
	retention time.Duration
	bus       *bus.Bus
	defs      map[string]Definition
	source    string
	now       func() time.Time
	log       *slog.Logger
	// grace is how long an outbox written by someone else may stay
	// unpublished before this engine publishes it.
	grace      time.Duration
	retryDelay time.Duration
	sched      *schedule
	sent       *sentLog
	metrics    metrics

	// decoded counts the instances the background part decoded.
	decoded atomic.Int64

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Option configures an Engine.
type Option func(*engineConfig)

type engineConfig struct {
	source     string
	now        func() time.Time
	log        *slog.Logger
	grace      time.Duration
	retryDelay time.Duration
	replicas   int
	retention  time.Duration
}

// WithSource sets the CloudEvent source of what the engine publishes.
// Default: pave/lifecycle.
func WithSource(s string) Option { return func(c *engineConfig) { c.source = s } }

// WithClock sets the clock that transitions read (deadlines, event times).
// Timers wait on it too, so it must advance like real time. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(c *engineConfig) { c.now = now } }

// WithLogger sets the logger of the background part.
func WithLogger(l *slog.Logger) Option { return func(c *engineConfig) { c.log = l } }

// WithOutboxGrace sets how long an outbox may stay unpublished before the
// background part publishes it; the engine that wrote it normally does so
// at once. Default: 5s.
func WithOutboxGrace(d time.Duration) Option { return func(c *engineConfig) { c.grace = d } }

// WithRetryDelay sets how long the background part waits before it tries
// a timer or an outbox again after an error. Default: 1s.
func WithRetryDelay(d time.Duration) Option { return func(c *engineConfig) { c.retryDelay = d } }

// WithRetention makes an ended saga's key expire d after the write that
// ended it (and emptied its outbox): nothing resumes it, and reading the
// ends of operations is the environments' business, which they do at
// once. A saga that reopens (a hanging answer) is written again without
// the TTL. Default: 0, kept for ever.
func WithRetention(d time.Duration) Option { return func(c *engineConfig) { c.retention = d } }

// WithReplicas sets the replicas of the KV bucket. Default: 1.
func WithReplicas(n int) Option { return func(c *engineConfig) { c.replicas = n } }

// NewEngine creates or updates the KV bucket and returns an engine for
// the definitions. Every definition must be valid and named once.
func NewEngine(ctx context.Context, js jetstream.JetStream, b *bus.Bus, bucket string, defs []Definition, opts ...Option) (*Engine, error) {
	cfg := engineConfig{
		source: "pave/lifecycle", now: time.Now, log: slog.New(slog.DiscardHandler),
		grace: 5 * time.Second, retryDelay: time.Second, replicas: 1,
	}
	for _, o := range opts {
		o(&cfg)
	}
	byName := make(map[string]Definition, len(defs))
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("new saga engine: %w", err)
		}
		if _, dup := byName[d.Name]; dup {
			return nil, fmt.Errorf("new saga engine: %w: %s is given twice", ErrInvalidDefinition, d.Name)
		}
		byName[d.Name] = d
	}
	// Every step reads the instance before its compare-and-set: the bucket
	// reads its own writes.
	spec := kv.Spec{Bucket: bucket, Description: "saga instances", History: 1, Replicas: cfg.replicas}
	if cfg.retention > 0 {
		// Watchers learn of an expired key from its marker.
		spec.MarkerTTL = max(cfg.retention, time.Minute)
	}
	bucketKV, err := kv.Declare(ctx, js, spec)
	if err != nil {
		return nil, fmt.Errorf("new saga engine: %w", err)
	}
	return &Engine{
		kv: bucketKV, js: js, bucket: bucket, retention: cfg.retention, bus: b, defs: byName, source: cfg.source, now: cfg.now, log: cfg.log,
		grace: cfg.grace, retryDelay: cfg.retryDelay, sched: newSchedule(), sent: newSentLog(), metrics: newMetrics(),
	}, nil
}

// Start begins saga sagaID of definition defName with data (marshalled as
// JSON) as its input. Starting a saga that exists is a no-op, unless it
// runs another definition (ErrIDInUse).
func (e *Engine) Start(ctx context.Context, defName, sagaID string, data any) error {
	def, ok := e.defs[defName]
	if !ok {
		return fmt.Errorf("start saga %s: %w %q", sagaID, ErrUnknownDefinition, defName)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("start saga %s: marshal data: %w", sagaID, err)
	}
	// A new saga, the usual case, is created without reading first.
	if inst, err := e.create(ctx, def, sagaID, raw); err == nil {
		return e.flush(ctx, inst, false)
	} else if !errors.Is(err, errExists) {
		return fmt.Errorf("start saga %s: %w", sagaID, err)
	}
	inst, err := e.update(ctx, sagaID, func(cur Instance, exists bool) (Instance, error) {
		if exists && cur.Definition != defName {
			return cur, fmt.Errorf("%w: it runs %s", ErrIDInUse, cur.Definition)
		}
		if !exists {
			cur = Instance{ID: sagaID, Trace: traceOf(ctx)}
		}
		next, _, err := Transition(def, cur, Start{Data: raw}, e.now())
		return next, err
	})
	if err != nil {
		return fmt.Errorf("start saga %s: %w", sagaID, err)
	}
	return e.flush(ctx, inst, false)
}

// Deliver applies an input to saga sagaID and publishes what it emits.
// Duplicate and stale inputs are absorbed. A nil error means the input is
// recorded and its effects published; after an error it is safe to
// deliver the input again.
func (e *Engine) Deliver(ctx context.Context, sagaID string, in Input) error {
	inst, err := e.deliver(ctx, sagaID, in)
	if err != nil {
		return err
	}
	return e.flush(ctx, inst, false)
}

func (e *Engine) deliver(ctx context.Context, sagaID string, in Input) (Instance, error) {
	if in == nil {
		return Instance{}, fmt.Errorf("deliver to saga %s: %w: nil input", sagaID, ErrInvalidInput)
	}
	inst, err := e.update(ctx, sagaID, func(cur Instance, exists bool) (Instance, error) {
		if !exists {
			return cur, ErrNotFound
		}
		def, err := e.definition(cur)
		if err != nil {
			return cur, err
		}
		next, _, err := Transition(def, cur, in, e.now())
		return next, err
	})
	if err != nil {
		return inst, fmt.Errorf("deliver %s to saga %s: %w", in.kind(), sagaID, err)
	}
	return inst, nil
}

// Decoded is how many stored instances the background part has decoded
// since the engine was made: at start, the live ones (an ended saga with
// an empty outbox is skipped undecoded), then every write it watches.
func (e *Engine) Decoded() int64 { return e.decoded.Load() }

// Tracked counts what this engine holds in memory: per saga, a timer or
// an outbox to publish, and published entries still stored. Only live
// sagas have any; an ended one leaves.
func (e *Engine) Tracked() int { return e.sched.size() + e.sent.size() }

// Get returns the stored instance, or an error wrapping ErrNotFound.
func (e *Engine) Get(ctx context.Context, sagaID string) (Instance, error) {
	s, err := e.load(ctx, sagaID)
	if err != nil {
		return Instance{}, fmt.Errorf("get saga %s: %w", sagaID, err)
	}
	return s.inst, nil
}

func (e *Engine) definition(inst Instance) (Definition, error) {
	def, ok := e.defs[inst.Definition]
	if !ok {
		return Definition{}, fmt.Errorf("%w %q of saga %s", ErrUnknownDefinition, inst.Definition, inst.ID)
	}
	return def, nil
}
