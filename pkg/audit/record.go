// Package audit is the contract of Pave's audit ledger: the record every
// service sends and reads, and the client that asks the access service to
// sign and append one (AppendSubject). The ledger itself (chaining,
// signing, verifying) belongs to the access service.
package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Kinds of record.
const (
	KindDecision = "decision"
	KindIdentity = "identity"
	KindToken    = "token"
	// KindBatch is the subject of a message holding several records.
	KindBatch = "batch"
)

// AppendSubject is where the access service takes records to sign and
// append (request/reply: a Record in, "ok" or an error header out). The
// bus permissions allow it to the gateway only.
const AppendSubject = "pave.access.audit.append"

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

// NewID is a random record id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "aud-" + hex.EncodeToString(b[:])
}

// Client appends records through the access service, which signs them:
// the gateway's recorder. Append returns once the record is in the stream.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
}

// NewClient asks the access service on nc, waiting at most timeout.
func NewClient(nc *nats.Conn, timeout time.Duration) *Client {
	return &Client{nc: nc, timeout: timeout}
}

// Append sends r to the access service.
func (c *Client) Append(ctx context.Context, r Record) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestWithContext(ctx, AppendSubject, raw)
	if err != nil {
		return fmt.Errorf("audit: ask the access service to append: %w", err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return errors.New("audit: access service: " + code + " " + msg.Header.Get("Nats-Service-Error"))
	}
	return nil
}
