package adapters

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// ReceiptsBucket holds one teardown receipt per environment (key: its
// id), each removed ttl after its last step.
const ReceiptsBucket = "PROVISIONING_RECEIPTS"

// KVReceipts is the receipt store on JetStream KV.
type KVReceipts struct{ t *kv.Table[domain.Receipt] }

var _ app.Receipts = (*KVReceipts)(nil)

// NewKVReceipts declares the bucket: bounded by ttl and by size.
func NewKVReceipts(ctx context.Context, js jetstream.JetStream, replicas int, ttl time.Duration) (*KVReceipts, error) {
	t, err := kv.Open[domain.Receipt](ctx, js, kv.Spec{Bucket: ReceiptsBucket,
		Description: "provisioning: teardown receipts, one per environment", History: 1, Replicas: replicas,
		TTL: ttl, MaxBytes: 256 << 20})
	if err != nil {
		return nil, err
	}
	return &KVReceipts{t: t}, nil
}

// Record adds step to the environment's receipt.
func (s *KVReceipts) Record(ctx context.Context, environmentID string, step domain.ReceiptStep) error {
	_, _, err := s.t.Upsert(ctx, environmentID, func(r *domain.Receipt, _ bool) error {
		r.EnvironmentID = environmentID
		if !r.Add(step) {
			return kv.ErrUnchanged
		}
		return nil
	})
	return appErr(err)
}

// Get returns the environment's receipt; app.ErrNotFound if none.
func (s *KVReceipts) Get(ctx context.Context, environmentID string) (domain.Receipt, error) {
	r, _, err := s.t.Get(ctx, environmentID)
	return r, appErr(err)
}
