package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
)

// Validator checks event data against the schema of its type. It returns
// an error wrapping schema.ErrUnknownType for a type it does not know.
type Validator interface {
	Validate(eventType string, data []byte) error
}

// SubjectFunc maps an event type to the subject it is published on.
type SubjectFunc func(eventType string) (string, error)

// Bus publishes and consumes CloudEvents on JetStream.
type Bus struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	validator  Validator
	subjectFor SubjectFunc
	log        *slog.Logger
	prop       propagation.TextMapPropagator
	// attemptTimeout bounds one publish attempt; Publish retries until ctx ends.
	attemptTimeout time.Duration
	meter          metric.MeterProvider // nil: no metrics
	dlq            dlqMetrics
}

// Option configures a Bus.
type Option func(*Bus)

// WithLogger sets the logger of the bus itself (dead letters, ack failures).
func WithLogger(l *slog.Logger) Option { return func(b *Bus) { b.log = l } }

// WithPropagator sets how trace context moves into the traceparent and
// tracestate extensions. Default: W3C trace context.
func WithPropagator(p propagation.TextMapPropagator) Option { return func(b *Bus) { b.prop = p } }

// WithAttemptTimeout bounds a single publish attempt.
func WithAttemptTimeout(d time.Duration) Option { return func(b *Bus) { b.attemptTimeout = d } }

// New builds a bus over a connection. validator and subjectFor are required.
func New(nc *nats.Conn, validator Validator, subjectFor SubjectFunc, opts ...Option) (*Bus, error) {
	if nc == nil || validator == nil || subjectFor == nil {
		return nil, errors.New("bus: connection, validator and subject mapping are required")
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	b := &Bus{
		nc: nc, js: js, validator: validator, subjectFor: subjectFor,
		log:            slog.New(slog.DiscardHandler),
		prop:           propagation.TraceContext{},
		attemptTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(b)
	}
	if err := b.registerMetrics(); err != nil {
		return nil, err
	}
	return b, nil
}

// JetStream exposes the JetStream context for stream and KV declarations.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// NewEvent builds an event with the attributes every Pave event carries.
// data is marshalled as JSON.
func NewEvent(id, source, eventType string, data any) (event.Event, error) {
	e := event.New(event.CloudEventsVersionV1)
	e.SetID(id)
	e.SetSource(source)
	e.SetType(eventType)
	e.SetTime(time.Now().UTC())
	if err := e.SetData(contentTypeJSON, data); err != nil {
		return event.Event{}, fmt.Errorf("event %s data: %w", eventType, err)
	}
	return e, nil
}
