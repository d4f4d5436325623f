package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

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
	events.TypeIncidentOpened:     true,
	events.TypeIncidentResolved:   true,
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
	case errors.Is(err, ErrUnbound) && (routed[e.Type()] || isCustom(e.Type()) || ClaimsOf(e).Any() || Extension(e, ExtPrincipal) != ""):
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

// isCustom: a team's custom type speaks for its team, so it needs a sender.
func isCustom(eventType string) bool { _, ok := CustomTeam(eventType); return ok }

// Consumers registers the router and the rejecter on the gateway's
// consumer router.
func Consumers(r *bus.Router, router *Router, rj *Rejecter) {
	r.Handle(ConsumerSpec(), router.Route)
	r.HandleDeadLetters(bus.ConsumerSpec{Durable: Durable + "-rejections"}, bus.StreamIngress, Durable, rj.Reject)
}

// Rejecter tells senders on pave.ingress.> that their event was refused:
// for each dead letter of the router it publishes
// dev.pave.gateway.ingress.rejected.v1 with the reason and the fields.
// It runs under the bus's ack policy: a rejection that cannot be
// published is retried with backoff and, after the consumer's delivery
// limit, dead-lettered itself.
type Rejecter struct {
	reg Registry
	pub Publisher
}

// NewRejecter builds a rejecter.
func NewRejecter(reg Registry, pub Publisher) *Rejecter {
	return &Rejecter{reg: reg, pub: pub}
}

// Reject publishes the rejection of one dead letter of the router.
func (rj *Rejecter) Reject(ctx context.Context, dl bus.DeadLetter) error {
	h := dl.Header
	data := events.IngressRejected{EventID: header(h, "ce-id"), Source: header(h, "ce-source"), Type: header(h, "ce-type"),
		Reason: dl.Reason, Errors: []Issue{}}
	if data.Reason == "" {
		data.Reason = "dead-lettered"
	}
	e, err := bus.Decode(h, dl.Data)
	if err != nil {
		data.Errors = append(data.Errors, decodeIssue(err))
	} else {
		data.Errors = append(data.Errors, Check(rj.reg, e)...)
	}
	id := h.Get("Nats-Msg-Id")
	if id == "" {
		mi, _ := bus.Info(ctx)
		id = fmt.Sprintf("dlq/%s/%d", mi.Stream, mi.Sequence)
	}
	out, err := bus.NewEvent("rejected/"+id, "pave/gateway/ingress", events.TypeIngressRejected, data)
	if err != nil {
		return err
	}
	if data.Source != "" {
		out.SetSubject(data.Source)
	}
	if err := rj.pub.Publish(ctx, out); err != nil {
		return fmt.Errorf("publish ingress rejection %s: %w", id, err)
	}
	return nil
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
