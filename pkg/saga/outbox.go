package saga

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.opentelemetry.io/otel/codes"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/schema"
)

// maxFlushRounds bounds how often flush goes round when settling the
// outbox adds to it (a refused command fails its step) or another writer
// does.
const maxFlushRounds = 4

// refusal is an outbox entry the bus refused for good.
type refusal struct {
	effect Effect
	reason string
}

// flush publishes the outbox of inst in order. Ids are deterministic, so
// publishing an entry again after a crash is deduplicated by the stream.
// The published entries stay in the stored instance until its next write
// removes them, which saves a write per transition; flush removes them at
// once (a compare-and-set of its own) when settle is set, when the saga
// has ended, or when the bus refused an entry for good: a refused command
// is removed and fails its step, a refused progress or alert event is
// removed and logged.
func (e *Engine) flush(ctx context.Context, inst Instance, settle bool) error {
	for round := 0; len(inst.Outbox) > 0 && round < maxFlushRounds; round++ {
		sent, refused, perr := e.publishOutbox(ctx, inst)
		if !settle && !inst.Status.Terminal() && len(refused) == 0 {
			e.sent.add(inst.ID, sent)
			if perr == nil {
				e.sched.published(inst.ID, inst.Seq, e.now(), e.grace)
			}
			return perr
		}
		if len(sent)+len(refused) > 0 {
			next, err := e.updateLazily(ctx, inst.ID, false, func(cur Instance, exists bool) (Instance, error) {
				if !exists {
					return cur, ErrNotFound
				}
				return e.settle(cur, sent, refused)
			})
			if err != nil {
				return errors.Join(perr, fmt.Errorf("clear outbox of saga %s: %w", inst.ID, err))
			}
			inst = next
		}
		if perr != nil {
			return perr
		}
	}
	return nil
}

// publishOutbox stops at the first transient error, so that what follows
// is never published before what precedes it.
func (e *Engine) publishOutbox(ctx context.Context, inst Instance) (map[string]bool, []refusal, error) {
	sent := map[string]bool{}
	var refused []refusal
	for _, eff := range inst.Outbox {
		if e.sent.has(inst.ID, eff.ID) {
			sent[eff.ID] = true
			continue
		}
		err := e.publish(ctx, inst, eff)
		switch {
		case err == nil:
			sent[eff.ID] = true
		case bus.IsPermanent(err):
			e.log.Error("saga effect refused by the bus", "saga", inst.ID, "event_id", eff.ID, "type", eff.Type, "error", err)
			refused = append(refused, refusal{effect: eff, reason: err.Error()})
		default:
			return sent, refused, fmt.Errorf("publish outbox of saga %s: %w", inst.ID, err)
		}
	}
	return sent, refused, nil
}

func (e *Engine) publish(ctx context.Context, inst Instance, eff Effect) error {
	ev, err := bus.NewEvent(eff.ID, e.source, eff.Type, eff.Data)
	if err != nil {
		return bus.Permanent(err)
	}
	ev.SetSubject(inst.ID)
	ev.SetDataSchema(schema.SchemaURL(eff.Type))
	ctx, span := publishSpan(ctx, inst, eff)
	defer span.End()
	if err := e.bus.Publish(ctx, ev); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	return nil
}

// settle removes the published and refused entries from the outbox and
// fails the steps whose commands were refused.
func (e *Engine) settle(cur Instance, sent map[string]bool, refused []refusal) (Instance, error) {
	next := cur.clone()
	gone := maps.Clone(sent)
	for _, r := range refused {
		gone[r.effect.ID] = true
	}
	next.Outbox = slices.DeleteFunc(next.Outbox, func(eff Effect) bool { return gone[eff.ID] })
	for _, r := range refused {
		// Another flush may have settled the refusal already; failing the
		// step twice would look like a late answer.
		pending := slices.ContainsFunc(cur.Outbox, func(eff Effect) bool { return eff.ID == r.effect.ID })
		if !pending || r.effect.Kind != EffectCommand || r.effect.Ref == nil {
			continue
		}
		def, err := e.definition(next)
		if err != nil {
			return cur, err
		}
		in := StepFailed{Ref: *r.effect.Ref, Reason: "command refused: " + r.reason}
		if next, _, err = Transition(def, next, in, e.now()); err != nil {
			return cur, err
		}
	}
	return next, nil
}
