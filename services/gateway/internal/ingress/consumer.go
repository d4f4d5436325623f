package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// Publisher stores an event on the subject its type maps to and waits
// for the acknowledgement.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Durable is the gateway's consumer of INGRESS; its dead letters are on
// pave.dlq.INGRESS.<Durable>.
const Durable = "gateway-ingress"

// routed are the ingress types re-published on their own subject.
var routed = map[string]bool{
	events.TypeGitPushed:          true,
	events.TypeCICompleted:        true,
	events.TypeDeploymentRecorded: true,
}

// ConsumerSpec is the router's durable consumer. The bus validates each
// message before Route sees it and dead-letters an invalid one.
func ConsumerSpec() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: bus.StreamIngress, Durable: Durable, FilterSubjects: []string{SubjectPrefix + ">"}}
}

// Router routes valid ingress events (see the package doc).
type Router struct {
	pub   Publisher
	stamp *Stamper
}

// NewRouter builds a router that lets through only what stamp verifies.
func NewRouter(pub Publisher, stamp *Stamper) *Router { return &Router{pub: pub, stamp: stamp} }

// Route re-publishes the gateway's report types with the same id; every
// other type stays on INGRESS. An event the gateway did not stamp at the
// door (published straight on pave.ingress.>) has no authenticated
// sender, so it may claim nothing: a report type, or any event naming a
// team, application or environment, is dead-lettered with the reason.
func (r *Router) Route(ctx context.Context, e event.Event) error {
	_, _, err := r.stamp.Verify(ctx, e)
	switch {
	case errors.Is(err, ErrUnbound) && (routed[e.Type()] || ClaimsOf(e).Any() || Extension(e, ExtPrincipal) != ""):
		return bus.Permanent(fmt.Errorf("ingress event %s: %w; send it to POST /v1/events with a token allowed to speak for its team", e.ID(), err))
	case err != nil && !errors.Is(err, ErrUnbound):
		return fmt.Errorf("verify ingress event %s: %w", e.ID(), err)
	}
	if !routed[e.Type()] {
		return nil
	}
	if err := r.pub.Publish(ctx, e.Clone()); err != nil {
		return fmt.Errorf("route ingress event %s: %w", e.ID(), err)
	}
	return nil
}

// Rejecter tells senders on pave.ingress.> that their event was refused:
// for each dead letter of the router it publishes
// dev.pave.gateway.ingress.rejected.v1 with the reason and the fields.
type Rejecter struct {
	js  jetstream.JetStream
	reg Registry
	pub Publisher
	log *slog.Logger
	cc  jetstream.ConsumeContext
}

// NewRejecter builds a rejecter.
func NewRejecter(js jetstream.JetStream, reg Registry, pub Publisher, log *slog.Logger) *Rejecter {
	return &Rejecter{js: js, reg: reg, pub: pub, log: log}
}

// Start consumes the router's dead letters with a durable consumer of DLQ.
func (rj *Rejecter) Start(ctx context.Context) error {
	cons, err := rj.js.CreateOrUpdateConsumer(ctx, bus.StreamDLQ, jetstream.ConsumerConfig{
		Durable: Durable + "-rejections", FilterSubject: bus.SubjectDLQPrefix + bus.StreamIngress + "." + Durable,
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("consumer of ingress dead letters: %w", err)
	}
	rj.cc, err = cons.Consume(rj.handle, jetstream.PullExpiry(5*time.Second))
	if err != nil {
		return fmt.Errorf("consume ingress dead letters: %w", err)
	}
	return nil
}

// Stop drains the consumer.
func (rj *Rejecter) Stop(ctx context.Context) error {
	if rj.cc == nil {
		return nil
	}
	rj.cc.Drain()
	select {
	case <-rj.cc.Closed():
		return nil
	case <-ctx.Done():
		rj.cc.Stop()
		return ctx.Err()
	}
}

func (rj *Rejecter) handle(m jetstream.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := rj.reject(ctx, m); err != nil {
		rj.log.ErrorContext(ctx, "publish ingress rejection", "subject", m.Subject(), "error", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	if err := m.DoubleAck(ctx); err != nil {
		rj.log.WarnContext(ctx, "ack of ingress dead letter not confirmed", "error", err)
	}
}

func (rj *Rejecter) reject(ctx context.Context, m jetstream.Msg) error {
	h := m.Headers()
	data := events.IngressRejected{EventID: header(h, "ce-id"), Source: header(h, "ce-source"), Type: header(h, "ce-type"),
		Reason: h.Get(bus.HeaderDLQReason), Errors: []Issue{}}
	if data.Reason == "" {
		data.Reason = "dead-lettered"
	}
	e, err := bus.Decode(h, m.Data())
	if err != nil {
		data.Errors = append(data.Errors, decodeIssue(err))
	} else {
		data.Errors = append(data.Errors, Check(rj.reg, e)...)
	}
	id := h.Get("Nats-Msg-Id")
	if id == "" {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		id = fmt.Sprintf("dlq/%s/%d", md.Stream, md.Sequence.Stream)
	}
	out, err := bus.NewEvent("rejected/"+id, "pave/gateway/ingress", events.TypeIngressRejected, data)
	if err != nil {
		return err
	}
	if data.Source != "" {
		out.SetSubject(data.Source)
	}
	return rj.pub.Publish(ctx, out)
}

// decodeIssue turns "ce-id: required header is missing" into a field issue.
func decodeIssue(err error) Issue {
	msg := strings.TrimPrefix(err.Error(), "permanent: ")
	if field, rest, ok := strings.Cut(msg, ": "); ok && !strings.Contains(field, " ") {
		return Issue{Field: strings.TrimPrefix(field, "ce-"), Message: rest}
	}
	return Issue{Field: "message", Message: msg}
}

func header(h map[string][]string, k string) string {
	for name, vs := range h {
		if strings.EqualFold(name, k) && len(vs) > 0 {
			v, err := url.PathUnescape(vs[0])
			if err != nil {
				return vs[0]
			}
			return v
		}
	}
	return ""
}
