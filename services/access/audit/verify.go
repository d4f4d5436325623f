package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Broken names the first record that does not match: the message's
// stream sequence, in a message of several records its line (1-based),
// and the archived segment that holds it (empty: the live stream).
type Broken struct {
	Segment string `json:"segment,omitempty"`
	Seq     uint64 `json:"seq"`
	Line    int    `json:"line,omitempty"`
	ID      string `json:"id,omitempty"`
	Reason  string `json:"reason"`
}

// Report is the result of a verification. Records counts every record
// that verified, Archived those of them read from the archive.
type Report struct {
	OK       bool    `json:"ok"`
	Records  int     `json:"records"`
	Segments int     `json:"segments,omitempty"`
	Archived int     `json:"archived,omitempty"`
	LastHash string  `json:"last_hash,omitempty"`
	Broken   *Broken `json:"broken,omitempty"`
}

// VerifyOption adds a check to Verify.
type VerifyOption func(*verifyOptions)

type verifyOptions struct {
	keys            Keyring
	unsignedThrough uint64
	archive         Archive
}

// Signed requires every record (and every segment's seal) to be signed by
// one of keys.
func Signed(keys Keyring) VerifyOption { return func(o *verifyOptions) { o.keys = keys } }

// UnsignedThrough exempts the records of stream sequences up to seq from
// Signed: a ledger written before records were signed (their chain is
// still checked).
func UnsignedThrough(seq uint64) VerifyOption {
	return func(o *verifyOptions) { o.unsignedThrough = seq }
}

// Archived verifies the sealed segments of a first, then the stream from
// the message after the last archived one.
func Archived(a Archive) VerifyOption { return func(o *verifyOptions) { o.archive = a } }

// chainCheck follows the chain across messages, archived or live.
type chainCheck struct {
	o    verifyOptions
	prev string
	rep  *Report
}

// message checks one stored message; false once something is broken.
func (c *chainCheck) message(segment string, seq uint64, raw []byte) bool {
	recs, err := Records(raw)
	multi := len(recs) > 1 || bytes.IndexByte(raw, '\n') >= 0
	line := func(i int) int {
		if multi {
			return i + 1
		}
		return 0
	}
	broken := func(i int, id, reason string) bool {
		c.rep.Broken = &Broken{Segment: segment, Seq: seq, Line: line(i), ID: id, Reason: reason}
		return false
	}
	for i, r := range recs {
		switch {
		case r.Prev != c.prev:
			return broken(i, r.ID, "prev does not match the hash of the record before it")
		case r.ComputeHash() != r.Hash:
			return broken(i, r.ID, "hash does not match the record's content")
		case c.o.keys != nil && seq > c.o.unsignedThrough:
			if reason := c.o.keys.check(r); reason != "" {
				return broken(i, r.ID, reason)
			}
		}
		c.prev = r.Hash
		c.rep.Records++
	}
	if err != nil {
		return broken(len(recs), "", "not a record: "+err.Error())
	}
	return true
}

// Verify walks the chain from its first record — through the archive's
// segments first when Archived is given, then the stream — and stops at
// the first record whose hash does not match its content, whose prev does
// not match the record before it or (with Signed) whose signature does not
// verify, and at the first segment whose seal does not match.
func Verify(ctx context.Context, js jetstream.JetStream, stream string, opts ...VerifyOption) (Report, error) {
	var o verifyOptions
	for _, opt := range opts {
		opt(&o)
	}
	var rep Report
	c := &chainCheck{o: o, rep: &rep}
	var next uint64 // the first stream sequence not archived
	if o.archive != nil {
		var err error
		if next, err = c.archive(ctx); err != nil {
			return Report{}, err
		}
		if rep.Broken != nil {
			return rep, nil
		}
	}
	if next > 0 {
		if gap, err := missing(ctx, js, stream, next); err != nil || gap != nil {
			rep.Broken = gap
			return rep, err
		}
	}
	err := WalkFrom(ctx, js, stream, next, func(seq uint64, raw []byte) bool { return c.message("", seq, raw) })
	if err != nil {
		return Report{}, err
	}
	rep.OK = rep.Broken == nil
	rep.LastHash = c.prev
	return rep, nil
}

// archive checks every segment and answers the sequence after the last one.
func (c *chainCheck) archive(ctx context.Context) (uint64, error) {
	names, err := c.o.archive.List(ctx)
	if err != nil {
		return 0, err
	}
	var prev *Seal
	var next uint64
	for _, name := range names {
		raw, err := c.o.archive.Get(ctx, name)
		if err != nil {
			return 0, err
		}
		seal, msgs, problem, derr := decodeSegment(raw)
		broken := func(reason string) (uint64, error) {
			c.rep.Broken = &Broken{Segment: name, Seq: seal.FirstSeq, Reason: reason}
			return next, nil
		}
		if derr != nil {
			return broken("not a segment: " + derr.Error())
		}
		for _, m := range msgs {
			if m.Seq < next {
				return broken(fmt.Sprintf("message %d is out of order", m.Seq))
			}
			next = m.Seq + 1
			if !c.message(name, m.Seq, []byte(m.Data)) {
				return next, nil
			}
		}
		switch {
		case problem != "":
			return broken(problem)
		case prev == nil && seal.Prev != "":
			return broken("the segments before it are missing")
		case prev != nil && seal.Prev != prev.Hash:
			return broken("its seal does not follow the previous segment's seal")
		case c.o.keys != nil:
			if reason := c.o.keys.checkHash(seal.Key, seal.Hash, seal.Sig); reason != "" {
				return broken("seal " + reason)
			}
		}
		prev = &seal
		next = seal.LastSeq + 1
		c.rep.Segments++
		c.rep.Archived += seal.Records
	}
	return next, nil
}

// missing names the gap when the stream no longer holds the messages from
// next on (they left it without being archived).
func missing(ctx context.Context, js jetstream.JetStream, stream string, next uint64) (*Broken, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	st := info.State
	if st.LastSeq < next || st.FirstSeq <= next {
		return nil, nil
	}
	return &Broken{Seq: next, Reason: fmt.Sprintf("records of sequences %d to %d are neither archived nor in the stream", next, st.FirstSeq-1)}, nil
}
