// Package audit is Pave's tamper-evident ledger: records appended to the
// AUDIT stream, each holding the hash of the one before it and signed by
// the access service (Ed25519).
//
//	Append(records) ─ group commit ─ chain (prev hash, key id, own hash, signature) ─ one message of JSON lines, fenced on the last sequence ─ ack
//	Verify: walk AUDIT in order, recompute each hash, compare with the stored hash and the next record's prev, check the signature
//
// The access service is the one signer: the gateway sends its decision
// records to it (Client, on AppendSubject). Several ledgers may still
// share the chain: a publish expects the last sequence it knows, so a
// writer that is behind is refused, reads the tail and chains again — the
// chain never forks.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of record.
const (
	KindDecision = "decision"
	KindIdentity = "identity"
	KindToken    = "token"
	// KindBatch is the subject of a message holding several records.
	KindBatch = "batch"
)

// Record is one entry. Hash is the SHA-256 of the record's JSON with Hash
// empty; Prev is the Hash of the record before it ("" for the first).
// Records never hold secrets.
type Record struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`
	Actor     string    `json:"actor"`
	ActorKind string    `json:"actor_kind,omitempty"`
	Team      string    `json:"team,omitempty"`
	Action    string    `json:"action"`
	Resource  string    `json:"resource,omitempty"`
	// Decision is "allow" or "deny" for decisions.
	Decision string            `json:"decision,omitempty"`
	Policies []string          `json:"policies,omitempty"`
	Route    string            `json:"route,omitempty"`
	Details  map[string]string `json:"details,omitempty"`
	Prev     string            `json:"prev"`
	// Key names the access service's signing key (KeyID); Sig is its
	// Ed25519 signature of Hash, base64. The hash covers Key, not Sig.
	Key  string `json:"key,omitempty"`
	Hash string `json:"hash"`
	Sig  string `json:"sig,omitempty"`
}

// ComputeHash is the hash the record must hold.
func (r Record) ComputeHash() string {
	r.Hash, r.Sig = "", ""
	raw, _ := json.Marshal(r) // a struct of strings, times and maps always encodes
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// chain sets Prev and Hash after prev, and signs when s is not nil.
func (r *Record) chain(prev string, s *Signer) {
	r.Prev, r.Key, r.Sig = prev, "", ""
	if s != nil {
		r.Key = s.id
	}
	r.Hash = r.ComputeHash()
	if s != nil {
		r.Sig = s.sign(r.Hash)
	}
}

// Subject is where a record of kind is published.
func Subject(kind string) string { return "pave.audit." + kind }

// Records splits a stored message into its records: one JSON record per
// line (a message of a group commit holds several).
func Records(raw []byte) ([]Record, error) {
	var out []Record
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return out, fmt.Errorf("line %d: %w", len(out)+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
