package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/cloudevents/sdk-go/v2/event"
	"golang.org/x/sync/errgroup"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// Publisher stores an event on its stream.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Fanout follows Pave's event streams: it folds alerting events into the
// alerts table and, for every subscription an event matches, numbers the
// delivery in its ordering key's chain and stores a delivery command on
// CMD_GATEWAY. A redelivered event gets the same numbers and command ids
// (the stream deduplicates), so nothing is sent twice because of it.
type Fanout struct {
	st    *Stores
	index *Index
	pub   Publisher
	log   *slog.Logger
}

// NewFanout is the fan-out handler.
func NewFanout(st *Stores, index *Index, pub Publisher, log *slog.Logger) *Fanout {
	return &Fanout{st: st, index: index, pub: pub, log: log}
}

// Handle is the bus handler of one stored event.
func (f *Fanout) Handle(ctx context.Context, e event.Event) error {
	a := domain.AttrsOf(e)
	if err := f.st.Fold(ctx, e, a); err != nil {
		return err
	}
	return f.enqueue(ctx, e, f.index.Match(a), "")
}

// enqueue stores one delivery command per subscription.
func (f *Fanout) enqueue(ctx context.Context, e event.Event, subs []domain.Subscription, replay string) error {
	if len(subs) == 0 {
		return nil
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return bus.Permanent(fmt.Errorf("encode %s: %w", e.ID(), err))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, s := range subs {
		g.Go(func() error { return f.command(gctx, e, raw, s.ID, replay) })
	}
	return g.Wait()
}

func (f *Fanout) command(ctx context.Context, e event.Event, raw []byte, sub, replay string) error {
	id := "notify/" + sub + "/" + e.ID()
	if replay != "" {
		id += "/replay/" + replay
	}
	key := chainKey(sub, e.Subject())
	n, err := f.st.Assign(ctx, key, id)
	if err != nil {
		return err
	}
	cmd, err := bus.NewEvent(id, "pave/gateway/notify", events.TypeNotifyDeliver,
		events.NotifyDeliver{Subscription: sub, Key: key, Seq: n, Replay: replay, Event: raw})
	if err != nil {
		return bus.Permanent(err)
	}
	cmd.SetSubject(key)
	if err := f.pub.Publish(ctx, cmd); err != nil {
		return fmt.Errorf("store delivery %s: %w", id, err)
	}
	return nil
}
