package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/events"
)

// FillBucket holds, per stream, the crossing last announced ("filling" or
// "clear"). Every process runs a monitor; the bucket makes an alert go out
// once per crossing, not once per process, and not again after a restart.
const FillBucket = "PLATFORM_STREAM_FILL"

const (
	fillStateFilling = "filling"
	fillStateClear   = "clear"
)

func (m *FillMonitor) openState(ctx context.Context) error {
	kv, err := m.bus.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: FillBucket, Description: "stream fill crossings already announced",
		History: 1, MaxBytes: 1 << 20, Storage: jetstream.FileStorage, Replicas: m.replicas(ctx),
	})
	if err != nil {
		return fmt.Errorf("fill monitor: bucket %s: %w", FillBucket, err)
	}
	if kv, err = ReadYourWrites(ctx, m.bus.js, kv); err != nil {
		return err
	}
	m.state = kv
	return nil
}

// replicas follows the AUDIT stream's (declared before any service starts).
func (m *FillMonitor) replicas(ctx context.Context) int {
	if s, err := m.bus.js.Stream(ctx, StreamAudit); err == nil {
		return max(s.CachedInfo().Config.Replicas, 1)
	}
	return 1
}

// announce publishes a crossing of the warn ratio by f, once: the event id
// is derived from the stream and the bucket revision it moves on from, so
// monitors that see the same crossing publish the same id (deduplicated
// by the server), and the state moves on by compare-and-set only after
// the event is stored. A publish that fails is tried again at the next
// reading with the same id.
func (m *FillMonitor) announce(ctx context.Context, f Fill) error {
	if m.state == nil {
		return nil
	}
	announced, rev := fillStateClear, uint64(0)
	entry, err := m.state.Get(ctx, f.Stream)
	switch {
	case err == nil:
		announced, rev = string(entry.Value()), entry.Revision()
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return fmt.Errorf("fill state of %s: %w", f.Stream, err)
	}
	want := m.crossing(announced, f.Ratio)
	if want == announced {
		return nil
	}
	typ := events.TypeStreamFilling
	if want == fillStateClear {
		typ = events.TypeStreamCleared
	}
	id := fmt.Sprintf("stream-fill/%s/%d/%s", f.Stream, rev, want)
	e, err := NewEvent(id, "pave/bus", typ, events.StreamFill{Stream: f.Stream, FillRatio: f.Ratio,
		WarnRatio: m.opts.Warn, Bytes: f.Bytes, MaxBytes: f.MaxBytes, Messages: f.Msgs, MaxMessages: f.MaxMsgs,
		ObservedAt: f.At})
	if err != nil {
		return err
	}
	if err := m.bus.Publish(ctx, e); err != nil {
		return fmt.Errorf("announce %s: %w", f, err)
	}
	m.log.WarnContext(ctx, "stream fill crossed the warn ratio", "stream", f.Stream, "fill_ratio", f.Ratio, "now", want)
	if rev == 0 {
		_, err = m.state.Create(ctx, f.Stream, []byte(want))
	} else {
		_, err = m.state.Update(ctx, f.Stream, []byte(want), rev)
	}
	if err != nil && !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("fill state of %s: %w", f.Stream, err)
	}
	return nil // a conflict: another monitor moved it on first
}

// crossing is the state a stream should be announced in: filling from
// the warn ratio up, clear again only once it is clearHysteresis below.
func (m *FillMonitor) crossing(announced string, ratio float64) string {
	switch {
	case ratio >= m.opts.Warn:
		return fillStateFilling
	case announced == fillStateFilling && ratio >= m.opts.Warn-clearHysteresis:
		return fillStateFilling
	}
	return fillStateClear
}
