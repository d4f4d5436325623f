package audit

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Compactor seals the ledger into segments, archives them, and lets
// archived records leave the stream once they are older than the
// retention:
//
//	AUDIT ─ every Interval: messages after the last archived one ─ each run of ≥ SegmentRecords records ─ Seal (signed, after the previous seal) ─ Archive.Put
//	      ─ archived segments older than Retention ─ purge AUDIT below the next sequence (never the last message: the ledger chains on it)
//
// Nothing leaves AUDIT that is not in the archive: records go only by this
// purge, and only up to the last archived segment. A segment's content is
// determined by the stream (boundaries by record count, the same key), so
// replicas that race write the same objects.
type Compactor struct {
	js      jetstream.JetStream
	stream  string
	archive Archive
	signer  *Signer
	cfg     ArchiveConfig
	now     func() time.Time
	log     *slog.Logger

	loaded bool
	warned bool   // about a stream that denies purge
	last   *Seal  // the newest archived seal
	live   []Seal // archived seals whose messages may still be in the stream, oldest first
	// pending is the segment not full yet, so a pass reads only new messages.
	pending segmentBuilder
}

// NewCompactor compacts stream into archive, sealing with signer.
func NewCompactor(js jetstream.JetStream, stream string, archive Archive, signer *Signer, cfg ArchiveConfig, log *slog.Logger) *Compactor {
	return &Compactor{js: js, stream: stream, archive: archive, signer: signer, cfg: cfg, now: time.Now, log: log}
}

// PassResult says what one pass did.
type PassResult struct {
	Sealed int    // segments archived
	Purged uint64 // messages removed from the stream
}

// Run passes every Interval until ctx ends; a failed pass is logged and
// tried again at the next.
func (c *Compactor) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		if res, err := c.Pass(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("audit archive pass failed; records stay in the stream", "archive", c.archive.Where(), "err", err)
		} else if res.Sealed > 0 || res.Purged > 0 {
			c.log.Debug("audit archive pass", "sealed", res.Sealed, "purged", res.Purged)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass archives every full segment after the last archived one, then
// purges what the retention lets go.
func (c *Compactor) Pass(ctx context.Context) (PassResult, error) {
	var res PassResult
	s, err := c.js.Stream(ctx, c.stream)
	if err != nil {
		return res, fmt.Errorf("audit archive: %w", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return res, fmt.Errorf("audit archive: %w", err)
	}
	st := info.State
	if !c.loaded {
		if err := c.load(ctx, st.FirstSeq); err != nil {
			return res, err
		}
	}
	if res.Sealed, err = c.seal(ctx, st); err != nil {
		return res, err
	}
	if info.Config.DenyPurge {
		if !c.warned {
			c.log.Warn("AUDIT was declared by an earlier Pave with purge denied, which JetStream cannot undo: segments are archived and verified, but records stay in the stream",
				"archive", c.archive.Where())
			c.warned = true
		}
		return res, nil
	}
	res.Purged, err = c.purge(ctx, s, st)
	return res, err
}

// load reads the newest seal and the seals of segments still in the stream.
func (c *Compactor) load(ctx context.Context, firstSeq uint64) error {
	names, err := c.archive.List(ctx)
	if err != nil {
		return err
	}
	c.live = nil
	for i, name := range names {
		last := i == len(names)-1
		if !last && i+1 < len(names) && segmentFirst(names[i+1]) <= firstSeq {
			continue // wholly gone from the stream already
		}
		raw, err := c.archive.Get(ctx, name)
		if err != nil {
			return err
		}
		seal, _, problem, err := decodeSegment(raw)
		if err != nil || problem != "" {
			return fmt.Errorf("audit archive %s: %v%s: verify the ledger", name, err, problem)
		}
		c.live = append(c.live, seal)
	}
	if n := len(c.live); n > 0 {
		c.last = &c.live[n-1]
	}
	c.loaded = true
	return nil
}

// segmentFirst is the first sequence of a segment, from its name.
func segmentFirst(name string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), ".jsonl"), 10, 64)
	return n
}

// seal archives the full segments after the last archived one.
func (c *Compactor) seal(ctx context.Context, st jetstream.StreamState) (int, error) {
	from := st.FirstSeq
	if c.last != nil {
		from = c.last.LastSeq + 1
	}
	b := &c.pending // the segment under way, read by earlier passes
	if b.seal.Messages > 0 {
		from = b.seal.LastSeq + 1
	}
	sealed := 0
	// put archives the pending segment once it is full.
	put := func() error {
		if b.seal.Records < c.cfg.SegmentRecords {
			return nil
		}
		seal, data := b.close(c.last, c.signer)
		if err := c.archive.Put(ctx, SegmentName(seal.FirstSeq), data); err != nil {
			return err // kept pending: the next pass puts the same segment
		}
		c.last = &seal
		c.live = append(c.live, seal)
		sealed++
		*b = segmentBuilder{}
		return nil
	}
	if err := put(); err != nil {
		return 0, err
	}
	if st.Msgs == 0 || from > st.LastSeq {
		return sealed, nil
	}
	var werr error
	err := WalkFrom(ctx, c.js, c.stream, from, func(seq uint64, raw []byte) bool {
		recs, _ := Records(raw) // a bad message is archived as it is; verification names it
		b.add(seq, raw, recs)
		werr = put()
		return werr == nil
	})
	if err == nil {
		err = werr
	}
	return sealed, err
}

// purge removes from the stream the archived segments older than the
// retention, keeping the stream's last message.
func (c *Compactor) purge(ctx context.Context, s jetstream.Stream, st jetstream.StreamState) (uint64, error) {
	if c.cfg.Retention <= 0 {
		return 0, nil
	}
	cutoff := c.now().Add(-c.cfg.Retention)
	keep := 0
	var upTo uint64
	for i, seal := range c.live {
		if !seal.LastTime.Before(cutoff) || seal.LastSeq >= st.LastSeq {
			break
		}
		upTo, keep = seal.LastSeq+1, i+1
	}
	if upTo <= st.FirstSeq {
		c.live = c.live[keep:]
		return 0, nil
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(upTo)); err != nil {
		return 0, fmt.Errorf("audit archive: purge below %d: %w", upTo, err)
	}
	c.live = append([]Seal(nil), c.live[keep:]...)
	return upTo - st.FirstSeq, nil
}
