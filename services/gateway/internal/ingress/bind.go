package ingress

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
)

// Extensions the gateway stamps on every event it takes from outside
// (CloudEvents extension names: lowercase letters and digits). A sender
// cannot set them: the gateway overwrites them at the door.
const (
	// ExtPrincipal is the authenticated sender.
	ExtPrincipal = events.ExtPrincipal
	// ExtTeam is the team the event speaks for ("" when it names none).
	ExtTeam = events.ExtTeam
	// ExtStamp is the gateway's HMAC over the event and the two above,
	// so an event published straight on pave.ingress.> cannot pass for
	// one the gateway let in.
	ExtStamp = "pavestamp"
)

// Claims are what an event's data says it is about.
type Claims struct {
	Team        string `json:"team"`
	Application string `json:"application"`
	Environment string `json:"environment"`
}

// Any reports whether the event claims anything.
func (c Claims) Any() bool { return c.Team != "" || c.Application != "" || c.Environment != "" }

// ClaimsOf reads the claims of an event's JSON data (none when the data
// is not an object).
func ClaimsOf(e event.Event) Claims {
	var c Claims
	_ = json.Unmarshal(e.Data(), &c)
	return c
}

// StampBucket holds the stamp key, one for every gateway replica.
const StampBucket = "GATEWAY_INGRESS_STAMP"

// Stamper signs the events the gateway lets in and verifies them when
// the router takes them from INGRESS. The key is made once, by the first
// replica that needs it, in a KV bucket the others read.
type Stamper struct {
	js       jetstream.JetStream
	replicas int
	mu       sync.Mutex
	key      []byte
}

// NewStamper loads its key lazily from js.
func NewStamper(js jetstream.JetStream, replicas int) *Stamper {
	return &Stamper{js: js, replicas: replicas}
}

// NewStamperWithKey is a stamper with a fixed key (tests, one process).
func NewStamperWithKey(key []byte) *Stamper { return &Stamper{key: key} }

func (s *Stamper) load(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	if s.replicas < 1 {
		s.replicas = 1
	}
	bucket, err := kv.Declare(ctx, s.js, kv.Spec{Bucket: StampBucket, Description: "the gateway's sender-stamp key",
		Replicas: s.replicas, MaxBytes: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("stamp key bucket: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if _, err := bucket.Create(ctx, "hmac", key); errors.Is(err, jetstream.ErrKeyExists) {
		entry, err := bucket.Get(ctx, "hmac")
		if err != nil {
			return nil, fmt.Errorf("read stamp key: %w", err)
		}
		key = entry.Value()
	} else if err != nil {
		return nil, fmt.Errorf("make stamp key: %w", err)
	}
	s.key = key
	return key, nil
}

// Stamp binds e to principal and team: it sets the three extensions.
func (s *Stamper) Stamp(ctx context.Context, e *event.Event, principal, team string) error {
	key, err := s.load(ctx)
	if err != nil {
		return err
	}
	e.SetExtension(ExtPrincipal, principal)
	e.SetExtension(ExtTeam, team)
	e.SetExtension(ExtStamp, mac(key, *e, principal, team))
	return nil
}

// ErrUnbound is an event the gateway did not let in: no stamp, or one
// that does not verify.
var ErrUnbound = errors.New("not bound to an authenticated sender")

// Verify answers the principal and team an event was stamped with, or
// ErrUnbound.
func (s *Stamper) Verify(ctx context.Context, e event.Event) (principal, team string, err error) {
	key, err := s.load(ctx)
	if err != nil {
		return "", "", err
	}
	principal, team, stamp := ext(e, ExtPrincipal), ext(e, ExtTeam), ext(e, ExtStamp)
	if stamp == "" || principal == "" {
		return "", "", ErrUnbound
	}
	if !hmac.Equal([]byte(stamp), []byte(mac(key, e, principal, team))) {
		return "", "", fmt.Errorf("%w: the stamp does not verify", ErrUnbound)
	}
	return principal, team, nil
}

func mac(key []byte, e event.Event, principal, team string) string {
	data := sha256.Sum256(e.Data())
	h := hmac.New(sha256.New, key)
	for _, part := range []string{e.ID(), e.Source(), e.Type(), e.Subject(), principal, team, hex.EncodeToString(data[:])} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Ext is an extension's value as a string ("" when absent).
func ext(e event.Event, name string) string {
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	s, _ := v.(string)
	return s
}

// Extension is an extension of e as a string ("" when absent).
func Extension(e event.Event, name string) string { return ext(e, name) }
