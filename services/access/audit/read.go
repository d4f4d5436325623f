package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Walk hands every record of stream to fn in order, from the first
// sequence at or after since (the zero time: from the start), up to the
// last record at the time of the call. fn returns false to stop.
func Walk(ctx context.Context, js jetstream.JetStream, stream string, since time.Time, fn func(seq uint64, raw []byte) bool) error {
	cfg := jetstream.OrderedConsumerConfig{}
	if !since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
	}
	return walk(ctx, js, stream, cfg, fn)
}

// WalkFrom is Walk from the first message at or after sequence seq.
func WalkFrom(ctx context.Context, js jetstream.JetStream, stream string, seq uint64, fn func(seq uint64, raw []byte) bool) error {
	cfg := jetstream.OrderedConsumerConfig{}
	if seq > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = seq
	}
	return walk(ctx, js, stream, cfg, fn)
}

func walk(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, fn func(seq uint64, raw []byte) bool) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 || cfg.OptStartSeq > last {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for {
		batch, err := c.Fetch(512, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			if !fn(meta.Sequence.Stream, m.Data()) || meta.Sequence.Stream >= last {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		if got == 0 {
			return nil // nothing at or after the start
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Filter selects records; empty fields match everything. Teams, when not
// nil, limits the answer to records of those teams.
type Filter struct {
	Team, Actor, Action string
	Since, Until        time.Time
	Teams               []string
	Limit               int
}

// Query answers the records that match f, oldest first, at most f.Limit.
func Query(ctx context.Context, js jetstream.JetStream, stream string, f Filter) ([]Record, error) {
	var out []Record
	err := Walk(ctx, js, stream, f.Since, func(_ uint64, raw []byte) bool {
		recs, _ := Records(raw)
		for _, r := range recs {
			if !f.match(r) {
				continue
			}
			out = append(out, r)
			if f.Limit > 0 && len(out) >= f.Limit {
				return false
			}
		}
		return true
	})
	return out, err
}

func (f Filter) match(r Record) bool {
	if f.Teams != nil && !contains(f.Teams, r.Team) {
		return false
	}
	return (f.Team == "" || r.Team == f.Team) && (f.Actor == "" || r.Actor == f.Actor) &&
		(f.Action == "" || r.Action == f.Action) &&
		(f.Since.IsZero() || !r.Time.Before(f.Since)) && (f.Until.IsZero() || r.Time.Before(f.Until))
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
