package audit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Walk hands every record of stream to fn in order, from the first
// sequence at or after since (the zero time: from the start), up to the
// last record at the time of the call. fn returns false to stop.
func Walk(ctx context.Context, js jetstream.JetStream, stream string, since time.Time, fn func(seq uint64, raw []byte) bool) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{}
	if !since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &since
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
			return nil // nothing at or after since
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Broken names the first record that does not match: the message's
// stream sequence and, in a message of several records, its line (1-based).
type Broken struct {
	Seq    uint64 `json:"seq"`
	Line   int    `json:"line,omitempty"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// Report is the result of a verification.
type Report struct {
	OK       bool    `json:"ok"`
	Records  int     `json:"records"`
	LastHash string  `json:"last_hash,omitempty"`
	Broken   *Broken `json:"broken,omitempty"`
}

// VerifyOption adds a check to Verify.
type VerifyOption func(*verifyOptions)

type verifyOptions struct {
	keys            Keyring
	unsignedThrough uint64
}

// Signed requires every record to be signed by one of keys.
func Signed(keys Keyring) VerifyOption { return func(o *verifyOptions) { o.keys = keys } }

// UnsignedThrough exempts the records of stream sequences up to seq from
// Signed: a ledger written before records were signed (their chain is
// still checked).
func UnsignedThrough(seq uint64) VerifyOption {
	return func(o *verifyOptions) { o.unsignedThrough = seq }
}

// Verify walks the chain of stream from its first record and stops at the
// first one whose hash does not match its content, whose prev does not
// match the record before it or (with Signed) whose signature does not
// verify.
func Verify(ctx context.Context, js jetstream.JetStream, stream string, opts ...VerifyOption) (Report, error) {
	var o verifyOptions
	for _, opt := range opts {
		opt(&o)
	}
	var rep Report
	prev := ""
	err := Walk(ctx, js, stream, time.Time{}, func(seq uint64, raw []byte) bool {
		recs, err := Records(raw)
		multi := len(recs) > 1 || bytes.IndexByte(raw, '\n') >= 0
		line := func(i int) int {
			if multi {
				return i + 1
			}
			return 0
		}
		for i, r := range recs {
			switch {
			case r.Prev != prev:
				rep.Broken = &Broken{Seq: seq, Line: line(i), ID: r.ID, Reason: "prev does not match the hash of the record before it"}
			case r.ComputeHash() != r.Hash:
				rep.Broken = &Broken{Seq: seq, Line: line(i), ID: r.ID, Reason: "hash does not match the record's content"}
			case o.keys != nil && seq > o.unsignedThrough:
				if reason := o.keys.check(r); reason != "" {
					rep.Broken = &Broken{Seq: seq, Line: line(i), ID: r.ID, Reason: reason}
				}
			}
			if rep.Broken != nil {
				return false
			}
			prev = r.Hash
			rep.Records++
		}
		if err != nil {
			rep.Broken = &Broken{Seq: seq, Line: line(len(recs)), Reason: "not a record: " + err.Error()}
			return false
		}
		return true
	})
	if err != nil {
		return Report{}, err
	}
	rep.OK = rep.Broken == nil
	rep.LastHash = prev
	return rep, nil
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
