package adapters

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// ServersBucket holds the operators' declarations that a driver's server
// is gone for good: one key per driver name, a handful at most.
const ServersBucket = "PROVISIONING_SERVERS"

// KVServers keeps the declarations on JetStream KV.
type KVServers struct{ t *kv.Table[domain.GoneServer] }

var _ app.GoneStore = (*KVServers)(nil)

// NewKVServers declares the bucket (idempotently; 1 MiB: one small key per
// driver) and returns the store.
func NewKVServers(ctx context.Context, js jetstream.JetStream, replicas int) (*KVServers, error) {
	t, err := kv.Open[domain.GoneServer](ctx, js, kv.Spec{Bucket: ServersBucket,
		Description: "provisioning: drivers whose server an operator declared gone, by driver",
		History:     5, Replicas: replicas, MaxBytes: 1 << 20})
	if err != nil {
		return nil, err
	}
	return &KVServers{t: t}, nil
}

// Declared reads driver's declaration.
func (s *KVServers) Declared(ctx context.Context, driver string) (domain.GoneServer, bool, error) {
	g, _, err := s.t.Get(ctx, driver)
	if errors.Is(err, kv.ErrNotFound) {
		return domain.GoneServer{}, false, nil
	}
	if err != nil {
		return domain.GoneServer{}, false, err
	}
	return g, true, nil
}

// Put records a declaration, replacing an earlier one.
func (s *KVServers) Put(ctx context.Context, g domain.GoneServer) error {
	_, err := s.t.Put(ctx, g.Driver, g)
	return err
}

// Remove takes driver's declaration back; none is fine.
func (s *KVServers) Remove(ctx context.Context, driver string) error {
	if err := s.t.Bucket().Delete(ctx, driver); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("remove declaration of %s: %w", driver, err)
	}
	return nil
}

// List reads every declaration.
func (s *KVServers) List(ctx context.Context) ([]domain.GoneServer, error) {
	es, err := s.t.List(ctx, ">")
	if err != nil {
		return nil, err
	}
	out := make([]domain.GoneServer, 0, len(es))
	for _, e := range es {
		out = append(out, e.Value)
	}
	return out, nil
}
