// Package audit is Pave's tamper-evident ledger: records appended to the
// AUDIT stream, each holding the hash of the one before it and signed by
// the access service (Ed25519).
//
//	Append(records) ─ group commit ─ chain (prev hash, key id, own hash, signature) ─ one message of JSON lines, fenced on the last sequence ─ ack
//	Verify: walk AUDIT in order, recompute each hash, compare with the stored hash and the next record's prev, check the signature
//
// The access service is the one signer: the gateway sends its decision
// records to it (pkg/audit's Client, on AppendSubject). Several ledgers may still
// share the chain: a publish expects the last sequence it knows, so a
// writer that is behind is refused, reads the tail and chains again — the
// chain never forks.
package audit

import (
	"github.com/pave-platform/pave/pkg/audit"
)

// The record and its contract are pkg/audit's; these names keep the
// ledger's code short.
type Record = audit.Record

// Kinds of record.
const (
	KindDecision = audit.KindDecision
	KindIdentity = audit.KindIdentity
	KindToken    = audit.KindToken
	KindBatch    = audit.KindBatch
)

// AppendSubject is where the access service takes records to append.
const AppendSubject = audit.AppendSubject

// Subject is where a record of kind is published.
func Subject(kind string) string { return audit.Subject(kind) }

// Records splits a stored message into its records.
func Records(raw []byte) ([]Record, error) { return audit.Records(raw) }

// NewID is a random record id.
func NewID() string { return audit.NewID() }

// chain sets r's Prev and Hash after prev, and signs when s is not nil.
func chain(r *Record, prev string, s *Signer) {
	r.Prev, r.Key, r.Sig = prev, "", ""
	if s != nil {
		r.Key = s.id
	}
	r.Hash = r.ComputeHash()
	if s != nil {
		r.Sig = s.sign(r.Hash)
	}
}
