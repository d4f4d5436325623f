package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// The buckets of notify, each bounded (docs/operations.md).
const (
	SubscriptionsBucket = "GATEWAY_NOTIFY_SUBSCRIPTIONS"
	DeliveriesBucket    = "GATEWAY_NOTIFY_DELIVERIES"
	ChainsBucket        = "GATEWAY_NOTIFY_CHAINS"
	AlertsBucket        = "GATEWAY_NOTIFY_ALERTS"
)

// maxAttemptsKept bounds a delivery record: the first attempts and the
// latest are what an operator reads.
const maxAttemptsKept = 20

// maxRecent bounds a chain's memory of the deliveries it numbered (a
// redelivered event gets the same number): a token of 12 characters
// each, so a chain stays about 2 KiB, read and written on every step.
const maxRecent = 128

// Stores are notify's tables.
type Stores struct {
	Subs       *kv.Table[domain.Subscription]
	Deliveries *kv.Table[Delivery]
	Chains     *kv.Table[Chain]
	Alerts     *kv.Table[Alert]
}

// OpenStores declares the buckets with their bounds.
func OpenStores(ctx context.Context, js jetstream.JetStream, c Config) (*Stores, error) {
	subs, err := kv.Open[domain.Subscription](ctx, js, kv.Spec{Bucket: SubscriptionsBucket, Replicas: c.Replicas,
		Description: "outbound subscriptions", MaxBytes: int64(c.MaxSubscriptions) * 16 << 10})
	if err != nil {
		return nil, err
	}
	dels, err := kv.Open[Delivery](ctx, js, kv.Spec{Bucket: DeliveriesBucket, Replicas: c.Replicas,
		Description: "delivery attempts of subscriptions", TTL: c.DeliveryRetention, MaxBytes: 1 << 30})
	if err != nil {
		return nil, err
	}
	chains, err := kv.Open[Chain](ctx, js, kv.Spec{Bucket: ChainsBucket, Replicas: c.Replicas,
		Description: "order of deliveries per subscription and subject", TTL: c.RetryFor + 24*time.Hour, MaxBytes: 256 << 20})
	if err != nil {
		return nil, err
	}
	alerts, err := kv.Open[Alert](ctx, js, kv.Spec{Bucket: AlertsBucket, Replicas: c.Replicas,
		Description: "alerts folded from events, with their state", TTL: c.AlertRetention, MaxBytes: 256 << 20})
	if err != nil {
		return nil, err
	}
	return &Stores{Subs: subs, Deliveries: dels, Chains: chains, Alerts: alerts}, nil
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
	DeliverySkipped   = "skipped"
)

// Attempt is one try of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	Status     int       `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// Delivery is one event's delivery to one subscription.
type Delivery struct {
	ID           string     `json:"id"`
	Subscription string     `json:"subscription"`
	EventID      string     `json:"event_id"`
	EventType    string     `json:"event_type"`
	Subject      string     `json:"subject,omitempty"`
	Replay       string     `json:"replay,omitempty"`
	Seq          uint64     `json:"seq"`
	State        string     `json:"state"`
	Reason       string     `json:"reason,omitempty"`
	AttemptCount int        `json:"attempt_count"`
	Attempts     []Attempt  `json:"attempts"`
	FirstAttempt *time.Time `json:"first_attempt_at,omitempty"`
	NextAttempt  *time.Time `json:"next_attempt_at,omitempty"`
	EventTime    time.Time  `json:"event_time"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func (d *Delivery) record(a Attempt) {
	d.AttemptCount++
	d.Attempts = append(d.Attempts, a)
	if len(d.Attempts) > maxAttemptsKept {
		// Keep the first half and the latest.
		d.Attempts = append(d.Attempts[:maxAttemptsKept/2], d.Attempts[len(d.Attempts)-maxAttemptsKept/2:]...)
	}
}

// Chain numbers one ordering key's deliveries and says which is done.
// Tail holds a token of each of the last numbered delivery ids, the last
// one numbered Next, the one before Next-1, and so on.
type Chain struct {
	Next uint64   `json:"next"`
	Done uint64   `json:"done"`
	Tail []string `json:"tail,omitempty"`
	// Recent is the form chains were stored in before Tail (whole ids
	// with their numbers, about 18 KiB a chain); read, never written.
	Recent []Assigned `json:"recent,omitempty"`
}

// Assigned is an event's number in a chain (the earlier form).
type Assigned struct {
	ID string `json:"id"`
	N  uint64 `json:"n"`
}

// idToken is the chain's token of a delivery id: 60 bits of its hash,
// no collision to fear among a chain's last few hundred.
func idToken(id string) string { return hashKey(id)[:12] }

// upgrade turns the earlier form into Tail (its numbers were consecutive,
// ending at Next).
func (c *Chain) upgrade() {
	if len(c.Recent) == 0 {
		return
	}
	if len(c.Tail) == 0 {
		for _, a := range c.Recent {
			c.Tail = append(c.Tail, idToken(a.ID))
		}
	}
	c.Recent = nil
}

// number is id's number in c: the one it got before, else the next.
func (c *Chain) number(id string) (n uint64, fresh bool) {
	c.upgrade()
	tok := idToken(id)
	for i, t := range c.Tail {
		if t == tok {
			return c.Next - uint64(len(c.Tail)-1-i), false
		}
	}
	c.Next++
	c.Tail = append(c.Tail, tok)
	if len(c.Tail) > maxRecent {
		c.Tail = append([]string(nil), c.Tail[len(c.Tail)-maxRecent:]...)
	}
	return c.Next, true
}

// Assign numbers delivery id in chain key: the next number, or the one it
// already got (a redelivered event).
func (s *Stores) Assign(ctx context.Context, key, id string) (uint64, error) {
	var n uint64
	_, _, err := s.Chains.Upsert(ctx, key, func(c *Chain, _ bool) error {
		var fresh bool
		if n, fresh = c.number(id); !fresh {
			return kv.ErrUnchanged
		}
		return nil
	})
	if err != nil && !errors.Is(err, kv.ErrUnchanged) {
		return 0, fmt.Errorf("number delivery %s: %w", id, err)
	}
	return n, nil
}

// Complete marks delivery n of chain key done (delivered, dead or
// skipped), letting n+1 go.
func (s *Stores) Complete(ctx context.Context, key string, n uint64) error {
	_, _, err := s.Chains.Update(ctx, key, func(c *Chain) error {
		if c.Done >= n {
			return kv.ErrUnchanged
		}
		c.Done = n
		return nil
	})
	if err != nil && !errors.Is(err, kv.ErrUnchanged) {
		return fmt.Errorf("complete %s/%d: %w", key, n, err)
	}
	return nil
}

// NewID is "<scope>.<16 random base32 characters>".
func NewID(scope string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return scope + "." + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// hashKey is a KV-safe token for any string (event ids, subjects).
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// chainKey is the ordering key of a subscription and an event subject.
func chainKey(sub, subject string) string { return sub + "." + hashKey(subject) }

// deliveryKey is a delivery's key: its subscription and event (and replay).
func deliveryKey(sub, eventID, replay string) string {
	return sub + "." + hashKey(eventID+"\x00"+replay)
}
