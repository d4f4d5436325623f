package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Router runs a service's consumers, after Watermill's router: each
// handler is registered with its ConsumerSpec, the router's middleware
// (the platform's standard chain) wraps every event handler once for all,
// Start starts every consumer and Stop drains them together. A stopped
// router can be started again (a leader's term, a runner's intake pause).
type Router struct {
	bus    *Bus
	mw     []Middleware
	routes []route

	mu   sync.Mutex
	subs []*Subscription
}

type route struct {
	spec   ConsumerSpec
	handle func(context.Context, jetstream.Msg) error
}

// NewRouter is a router over b whose event handlers all run inside mw,
// the first listed outermost.
func NewRouter(b *Bus, mw ...Middleware) *Router {
	return &Router{bus: b, mw: mw}
}

// Handle registers h as the handler of the durable consumer spec.
func (r *Router) Handle(spec ConsumerSpec, h Handler) {
	chained := Chain(h, r.mw...)
	r.routes = append(r.routes, route{spec: spec, handle: func(ctx context.Context, m jetstream.Msg) error {
		return r.bus.handleEvent(ctx, m, chained)
	}})
}

// DeadLetter is a message the bus gave up on, as stored in DLQ: the
// original headers (which may not decode as an event: that is often why
// it is here) and data, and the reason.
type DeadLetter struct {
	Header nats.Header
	Data   []byte
	Reason string
}

// DeadLetterHandler reacts to a dead letter. Like a Handler it never
// acks: the bus's policy settles the DLQ message from the error.
type DeadLetterHandler func(ctx context.Context, dl DeadLetter) error

// HandleDeadLetters registers h for the dead letters of one consumer of
// another stream: the DLQ consumer spec.Durable reads
// pave.dlq.<ofStream>.<ofDurable>. The event middleware does not apply
// (a dead letter need not be an event); failures are logged here.
func (r *Router) HandleDeadLetters(spec ConsumerSpec, ofStream, ofDurable string, h DeadLetterHandler) {
	spec.Stream = StreamDLQ
	spec.FilterSubjects = []string{SubjectDLQPrefix + ofStream + "." + ofDurable}
	r.routes = append(r.routes, route{spec: spec, handle: func(ctx context.Context, m jetstream.Msg) error {
		err := h(ctx, DeadLetter{Header: m.Headers(), Data: m.Data(), Reason: m.Headers().Get(HeaderDLQReason)})
		if err != nil {
			mi, _ := Info(ctx)
			r.bus.log.WarnContext(ctx, "dead letter not handled", "consumer", spec.Durable,
				"seq", mi.Sequence, "deliveries", mi.Deliveries, "error", err)
		}
		return err
	}})
}

// Start creates or updates every registered consumer and starts working
// them. If one cannot start, those already started are drained and the
// error names the consumer.
func (r *Router) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) > 0 {
		return errors.New("router: already started")
	}
	seen := map[string]bool{}
	for _, rt := range r.routes {
		key := rt.spec.Stream + "/" + rt.spec.Durable
		if seen[key] {
			return fmt.Errorf("router: consumer %s registered twice", key)
		}
		seen[key] = true
	}
	for _, rt := range r.routes {
		sub, err := r.bus.subscribe(ctx, rt.spec, rt.handle)
		if err != nil {
			errs := []error{err, stopAll(ctx, r.subs)}
			r.subs = nil
			return errors.Join(errs...)
		}
		r.subs = append(r.subs, sub)
	}
	return nil
}

// Stop drains every consumer at once: no new messages are taken, buffered
// ones go back to the server, and in-flight handlers finish (or ctx ends).
func (r *Router) Stop(ctx context.Context) error {
	r.mu.Lock()
	subs := r.subs
	r.subs = nil
	r.mu.Unlock()
	return stopAll(ctx, subs)
}

func stopAll(ctx context.Context, subs []*Subscription) error {
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	for i, s := range subs {
		wg.Go(func() { errs[i] = s.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
