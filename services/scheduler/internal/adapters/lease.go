package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/scheduler/internal/app"
)

// LeaseBucket holds the scheduler's leader lease.
const LeaseBucket = "SCHEDULER_LEADER"

const leaseKey = "leader"

// Lease is a leader lease in a key-value bucket whose entries expire after
// TTL: the holder renews it by compare-and-set on the revision; when the
// holder dies the entry expires and a standby's create succeeds.
type Lease struct {
	kv  jetstream.KeyValue
	id  string
	rev uint64
}

type leaseValue struct {
	Holder string    `json:"holder"`
	At     time.Time `json:"at"`
}

// NewLease opens (or creates) the bucket with the given TTL.
func NewLease(ctx context.Context, js jetstream.JetStream, id string, ttl time.Duration, replicas int) (*Lease, error) {
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: LeaseBucket, Description: "the scheduler's leader lease", TTL: ttl,
		History: 1, Replicas: replicas, MaxBytes: 1 << 20})
	if err != nil {
		return nil, fmt.Errorf("lease bucket: %w", err)
	}
	return &Lease{kv: b, id: id}, nil
}

var _ app.Lease = (*Lease)(nil)

// Term is the revision at which this instance took the lease: it grows
// with every new leader.
func (l *Lease) Term() uint64 { return l.rev }

// TryAcquire takes the lease when nobody holds it.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	rev, err := l.kv.Create(ctx, leaseKey, l.value())
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l.rev = rev
	return true, nil
}

// Renew extends the lease; an error means it is lost.
func (l *Lease) Renew(ctx context.Context) error {
	rev, err := l.kv.Update(ctx, leaseKey, l.value(), l.rev)
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	l.rev = rev
	return nil
}

// Release gives the lease up at once, if this instance still holds it.
func (l *Lease) Release(ctx context.Context) error {
	err := l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(l.rev))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return nil
	}
	return err
}

func (l *Lease) value() []byte {
	raw, _ := json.Marshal(leaseValue{Holder: l.id, At: time.Now().UTC()})
	return raw
}
