package bus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler applies one event. It never acks: nil means done, an error
// wrapped with Permanent means never, any other error means later.
type Handler func(ctx context.Context, e event.Event) error

// Middleware wraps a handler with logging, tracing, metrics or dedupe.
type Middleware func(Handler) Handler

// Chain applies middleware so that the first one listed runs outermost.
func Chain(h Handler, mw ...Middleware) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// ConsumerSpec declares a durable pull consumer and how it is worked.
type ConsumerSpec struct {
	Stream         string
	Durable        string
	FilterSubjects []string
	MaxDeliver     int           // deliveries before the message is dead-lettered; default 5
	AckWait        time.Duration // also the handler's deadline; default 30s
	MaxAckPending  int           // default 1024
	Concurrency    int           // workers; one ordering key always goes to the same worker; default 4
	// Lanes, when set, replaces the Concurrency workers with a lane per
	// ordering key, at most Lanes running at once: a key waits only for
	// its own earlier messages, never for another key that hashed to the
	// same worker. Order holds per key only, so a consumer that needs the
	// stream's total order keeps Concurrency 1.
	Lanes   int
	Backoff Backoff // default 100ms doubling to 30s
	// InactiveThreshold, when set, lets the server delete the consumer
	// once nobody has pulled from it that long: for a consumer one process
	// names for itself (an in-memory index fed from the stream's start),
	// so a process that is gone leaves nothing behind.
	InactiveThreshold time.Duration
}

func (s *ConsumerSpec) defaults() error {
	if s.Stream == "" || s.Durable == "" {
		return errors.New("consumer: stream and durable name are required")
	}
	if s.MaxDeliver <= 0 {
		s.MaxDeliver = 5
	}
	if s.AckWait <= 0 {
		s.AckWait = 30 * time.Second
	}
	if s.MaxAckPending <= 0 {
		s.MaxAckPending = 1024
	}
	if s.Concurrency <= 0 {
		s.Concurrency = 4
	}
	if s.Backoff.Base <= 0 {
		s.Backoff = Backoff{Base: 100 * time.Millisecond, Max: 30 * time.Second}
	}
	return nil
}

// MessageInfo says where the event being handled came from.
type MessageInfo struct {
	Stream, Consumer, Subject string
	Sequence                  uint64
	Deliveries                uint64
}

type infoKey struct{}

// Info returns the message info of the event a handler is working on.
func Info(ctx context.Context) (MessageInfo, bool) {
	mi, ok := ctx.Value(infoKey{}).(MessageInfo)
	return mi, ok
}

// Subscription is a running consumer. Stop drains it.
type Subscription struct {
	bus      *Bus
	spec     ConsumerSpec
	handler  func(context.Context, jetstream.Msg) error
	cc       jetstream.ConsumeContext
	advisory *nats.Subscription
	workers  []chan jetstream.Msg
	lanes    *lanes // instead of workers when spec.Lanes is set
	wg       sync.WaitGroup
	draining atomic.Bool
	// stopping closes when Stop begins: a dispatch waiting for a full
	// worker gives its message back instead of holding sendMu.
	stopping chan struct{}
	// sendMu guards the worker channels against a send after close.
	sendMu sync.RWMutex
	closed bool
}

// Subscribe creates or updates the durable consumer and starts working it.
// A service registers its consumers with a [Router] instead, which adds
// the standard middleware and starts and drains them together.
func (b *Bus) Subscribe(ctx context.Context, spec ConsumerSpec, h Handler, mw ...Middleware) (*Subscription, error) {
	chained := Chain(h, mw...)
	return b.subscribe(ctx, spec, func(ctx context.Context, m jetstream.Msg) error {
		return b.handleEvent(ctx, m, chained)
	})
}

func (b *Bus) subscribe(ctx context.Context, spec ConsumerSpec, h func(context.Context, jetstream.Msg) error) (*Subscription, error) {
	if err := spec.defaults(); err != nil {
		return nil, err
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, jetstream.ConsumerConfig{
		Durable:        spec.Durable,
		FilterSubjects: spec.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckWait:        spec.AckWait,
		MaxDeliver:     spec.MaxDeliver,
		MaxAckPending:  spec.MaxAckPending,

		InactiveThreshold: spec.InactiveThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	s := &Subscription{bus: b, spec: spec, handler: h, stopping: make(chan struct{})}
	if s.advisory, err = b.watchMaxDeliveries(s); err != nil {
		return nil, err
	}
	if spec.Lanes > 0 {
		s.lanes = newLanes(spec.Lanes, func(m jetstream.Msg) {
			if s.draining.Load() {
				_ = m.Nak()
				return
			}
			s.process(m)
		})
	} else {
		s.workers = make([]chan jetstream.Msg, spec.Concurrency)
		for i := range s.workers {
			s.workers[i] = make(chan jetstream.Msg, 16)
			s.wg.Add(1)
			go s.work(s.workers[i])
		}
	}
	// Short pull expiry and heartbeat: after a server restart the pull is
	// re-issued within seconds rather than after the default 30 s.
	s.cc, err = cons.Consume(s.dispatch, jetstream.PullMaxMessages(min(spec.MaxAckPending, 512)),
		jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(2*time.Second))
	if err != nil {
		s.closeWorkers()
		_ = s.advisory.Unsubscribe()
		return nil, fmt.Errorf("consume %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	return s, nil
}

// dispatch keeps order per ordering key — the NATS subject and the
// CloudEvent subject (an entity: a saga, a resource) — by hashing the key
// to one worker. Commands for different entities on one NATS subject run
// in parallel; events of one entity stay in order.
func (s *Subscription) dispatch(m jetstream.Msg) {
	var subject string
	if hs := m.Headers(); hs != nil {
		subject = hs.Get(headerPrefix + "subject")
	}
	if s.lanes != nil {
		if s.draining.Load() {
			_ = m.Nak()
			return
		}
		s.lanes.add(m.Subject()+"\x00"+subject, m)
		return
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(m.Subject()))
	_, _ = h.Write([]byte(subject))
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.closed || s.draining.Load() {
		_ = m.Nak() // another instance takes it at once
		return
	}
	select {
	case s.workers[h.Sum32()%uint32(len(s.workers))] <- m:
	case <-s.stopping:
		_ = m.Nak()
	}
}

func (s *Subscription) work(ch <-chan jetstream.Msg) {
	defer s.wg.Done()
	for m := range ch {
		if s.draining.Load() {
			_ = m.Nak()
			continue
		}
		s.process(m)
	}
}

// Stop drains the subscription: no new messages are taken, messages
// already buffered go back to the server, and in-flight handlers finish
// (or ctx ends first).
func (s *Subscription) Stop(ctx context.Context) error {
	if s.draining.Swap(true) {
		return nil
	}
	close(s.stopping)
	_ = s.advisory.Unsubscribe()
	s.cc.Drain()
	select {
	case <-s.cc.Closed():
	case <-ctx.Done():
		s.cc.Stop()
	}
	s.closeWorkers()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain %s/%s: %w", s.spec.Stream, s.spec.Durable, ctx.Err())
	}
}

func (s *Subscription) closeWorkers() {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.lanes != nil {
		s.lanes.close()
		s.wg.Go(s.lanes.wait)
	}
	for _, ch := range s.workers {
		close(ch)
	}
}
