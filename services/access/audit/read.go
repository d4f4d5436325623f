package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
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
	err := bus.Scan(ctx, js, stream, cfg, func(m jetstream.Msg) (bool, error) {
		meta, err := m.Metadata()
		if err != nil {
			return false, err
		}
		return fn(meta.Sequence.Stream, m.Data()), nil
	})
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
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

// Cursor is a position in the ledger: a record's message and line. A page
// holds the records strictly older than its cursor.
type Cursor struct {
	Seq  uint64
	Line int // 0-based index of the record in its message
}

// String encodes the cursor for next_cursor (opaque to clients).
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", c.Seq, c.Line)))
}

// ParseCursor reads a cursor String made.
func ParseCursor(s string) (Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err == nil {
		_, err = fmt.Sscanf(string(raw), "%d.%d", &c.Seq, &c.Line)
	}
	if err != nil || c.Seq == 0 || c.Line < 0 {
		return Cursor{}, errors.New("not a cursor this API gave")
	}
	return c, nil
}

// pageWindow is how many messages a page reads at once, and pageScan the
// most it reads for one page: a filter that matches rarely answers a short
// (even empty) page with a cursor to go on from.
const (
	pageWindow = 256
	pageScan   = 100_000
)

// QueryPage answers at most f.Limit records that match f, newest first,
// older than after (the zero Cursor: from the newest), and the cursor of
// the next page (nil on the last page).
func QueryPage(ctx context.Context, js jetstream.JetStream, stream string, f Filter, after Cursor) ([]Record, *Cursor, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	first, hi := info.State.FirstSeq, info.State.LastSeq
	if after.Seq != 0 {
		hi = min(hi, after.Seq)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var out []Record
	scanned := 0
	for info.State.Msgs > 0 && hi >= first {
		lo := max(first, hi-min(hi, pageWindow-1))
		msgs, err := readRange(ctx, js, stream, lo, hi)
		if err != nil {
			return nil, nil, err
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			recs, _ := Records(m.data)
			top := len(recs) - 1
			if m.seq == after.Seq {
				top = after.Line - 1
			}
			for line := top; line >= 0; line-- {
				r := recs[line]
				if !f.match(r) {
					continue
				}
				out = append(out, r)
				if len(out) == limit {
					return out, more(Cursor{Seq: m.seq, Line: line}, first), nil
				}
			}
			if scanned++; scanned >= pageScan {
				return out, more(Cursor{Seq: m.seq, Line: 0}, first), nil
			}
			if !f.Since.IsZero() && len(recs) > 0 && recs[len(recs)-1].Time.Before(f.Since.Add(-sinceSlack)) {
				return out, nil, nil // older than since, with a margin for writers' clocks
			}
		}
		if lo == first {
			break
		}
		hi = lo - 1
	}
	return out, nil, nil
}

// sinceSlack allows records written a little out of time order (each
// writer stamps its own record before the group commit).
const sinceSlack = 10 * time.Minute

// more is the cursor after c, nil when nothing is older.
func more(c Cursor, first uint64) *Cursor {
	if c.Seq <= first && c.Line == 0 {
		return nil
	}
	return &c
}

type rawMsg struct {
	seq  uint64
	data []byte
}

// readRange reads the messages of sequences lo to hi (those still stored).
func readRange(ctx context.Context, js jetstream.JetStream, stream string, lo, hi uint64) ([]rawMsg, error) {
	var out []rawMsg
	err := bus.Scan(ctx, js, stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: lo}, func(m jetstream.Msg) (bool, error) {
		meta, err := m.Metadata()
		if err != nil || meta.Sequence.Stream > hi {
			return false, err
		}
		out = append(out, rawMsg{seq: meta.Sequence.Stream, data: m.Data()})
		return meta.Sequence.Stream < hi, nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
