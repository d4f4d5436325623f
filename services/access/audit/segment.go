package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A segment is a run of AUDIT messages sealed and archived as one object:
//
//	line 1   the Seal: sequences, records, the first record's prev, the last record's hash,
//	         the SHA-256 of the lines below, the hash of the previous segment's seal; signed
//	line 2…  one stored message each: {"seq": <stream sequence>, "data": "<the message as stored>"}
//
// Seals are hash-linked like records, so a segment removed, replaced or
// reordered in the archive breaks the chain of seals as well as the chain
// of records.
const segmentPrefix = "segment-"

// SegmentName names the segment whose first message has sequence first;
// names sort in ledger order.
func SegmentName(first uint64) string { return fmt.Sprintf("%s%020d.jsonl", segmentPrefix, first) }

// Seal is a segment's header.
type Seal struct {
	FirstSeq  uint64    `json:"first_seq"`
	LastSeq   uint64    `json:"last_seq"`
	Messages  int       `json:"messages"`
	Records   int       `json:"records"`
	FirstTime time.Time `json:"first_time"`
	LastTime  time.Time `json:"last_time"`
	FirstPrev string    `json:"first_prev"`
	LastHash  string    `json:"last_hash"`
	// Body is the SHA-256 of the segment's lines after the seal.
	Body string `json:"body"`
	// Prev is the Hash of the previous segment's seal ("" for the first).
	Prev string `json:"prev"`
	Key  string `json:"key,omitempty"`
	Hash string `json:"hash"`
	Sig  string `json:"sig,omitempty"`
}

// ComputeHash is the hash the seal must hold.
func (s Seal) ComputeHash() string {
	s.Hash, s.Sig = "", ""
	raw, _ := json.Marshal(s)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// storedMsg is one AUDIT message in a segment.
type storedMsg struct {
	Seq  uint64 `json:"seq"`
	Data string `json:"data"`
}

// segmentBuilder gathers messages until a segment is full.
type segmentBuilder struct {
	seal Seal
	body bytes.Buffer
}

func (b *segmentBuilder) add(seq uint64, raw []byte, recs []Record) {
	if b.seal.Messages == 0 {
		b.seal.FirstSeq = seq
		if len(recs) > 0 {
			b.seal.FirstPrev, b.seal.FirstTime = recs[0].Prev, recs[0].Time
		}
	}
	line, _ := json.Marshal(storedMsg{Seq: seq, Data: string(raw)})
	b.body.Write(line)
	b.body.WriteByte('\n')
	b.seal.LastSeq = seq
	b.seal.Messages++
	b.seal.Records += len(recs)
	if len(recs) > 0 {
		b.seal.LastHash, b.seal.LastTime = recs[len(recs)-1].Hash, recs[len(recs)-1].Time
	}
}

// seal closes the segment after prev (the seal before it, nil for the
// first) and encodes it.
func (b *segmentBuilder) close(prev *Seal, s *Signer) (Seal, []byte) {
	seal := b.seal
	sum := sha256.Sum256(b.body.Bytes())
	seal.Body = hex.EncodeToString(sum[:])
	if prev != nil {
		seal.Prev = prev.Hash
	}
	if s != nil {
		seal.Key = s.id
	}
	seal.Hash = seal.ComputeHash()
	if s != nil {
		seal.Sig = s.sign(seal.Hash)
	}
	head, _ := json.Marshal(seal)
	out := make([]byte, 0, len(head)+1+b.body.Len())
	out = append(append(append(out, head...), '\n'), b.body.Bytes()...)
	return seal, out
}

// decodeSegment splits an archived segment into its seal and messages.
// problem says what does not match (the seal's own hash, the content's
// hash); the messages are still answered, so the caller can name the
// record that was changed.
func decodeSegment(raw []byte) (seal Seal, msgs []storedMsg, problem string, err error) {
	head, body, ok := bytes.Cut(raw, []byte{'\n'})
	if !ok {
		return seal, nil, "", errors.New("no seal line")
	}
	if err := json.Unmarshal(head, &seal); err != nil {
		return seal, nil, "", fmt.Errorf("seal: %w", err)
	}
	sum := sha256.Sum256(body)
	switch {
	case seal.ComputeHash() != seal.Hash:
		problem = "the seal's hash does not match the seal"
	case hex.EncodeToString(sum[:]) != seal.Body:
		problem = "the segment's content does not match its seal"
	}
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte{'\n'})
		var m storedMsg
		if err := json.Unmarshal(line, &m); err != nil {
			return seal, msgs, problem, fmt.Errorf("message %d: %w", len(msgs)+1, err)
		}
		msgs = append(msgs, m)
	}
	return seal, msgs, problem, nil
}
