package adapters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// GrantsBucket holds provisioning's desired credential state: the grants
// access announced (grant.<hash of id>), the environments they apply to
// (env.<id>) and the logins issued (cred.<name>). Every write is a
// compare-and-set on the key's revision.
const GrantsBucket = "PROVISIONING_GRANTS"

// KVGrants is the grant store on JetStream KV.
type KVGrants struct{ kv jetstream.KeyValue }

var _ app.GrantStore = (*KVGrants)(nil)

// NewKVGrants declares the bucket (idempotently) and returns the store.
func NewKVGrants(ctx context.Context, js jetstream.JetStream, replicas int) (*KVGrants, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      GrantsBucket,
		Description: "provisioning: desired grants, their environments and the sealed grant logins issued",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("declare bucket %s: %w", GrantsBucket, err)
	}
	if kv, err = bus.ReadYourWrites(ctx, js, kv); err != nil {
		return nil, err
	}
	return &KVGrants{kv: kv}, nil
}

// grantKey hashes the grant id: access may use characters a KV key may not.
func grantKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "grant." + hex.EncodeToString(sum[:16])
}

func targetKey(envID string) string { return "env." + envID }
func issuedKey(name string) string  { return "cred." + name }

// GetGrant reads a grant; app.ErrNotFound if never announced.
func (s *KVGrants) GetGrant(ctx context.Context, id string) (domain.Grant, error) {
	g, rev, err := get[domain.Grant](ctx, s.kv, grantKey(id))
	g.Revision = rev
	return g, err
}

// PutGrant creates g (Revision 0) or replaces it at its revision.
func (s *KVGrants) PutGrant(ctx context.Context, g domain.Grant) (domain.Grant, error) {
	rev, err := put(ctx, s.kv, grantKey(g.GrantID), g, g.Revision)
	g.Revision = rev
	return g, err
}

// ListGrants reads every grant, revoked ones included.
func (s *KVGrants) ListGrants(ctx context.Context) ([]domain.Grant, error) {
	return list(ctx, s.kv, "grant.>", func(g *domain.Grant, rev uint64) { g.Revision = rev })
}

// GetTarget reads an environment's record; app.ErrNotFound if unknown.
func (s *KVGrants) GetTarget(ctx context.Context, envID string) (domain.Target, error) {
	t, rev, err := get[domain.Target](ctx, s.kv, targetKey(envID))
	t.Revision = rev
	return t, err
}

// PutTarget creates t (Revision 0) or replaces it at its revision.
func (s *KVGrants) PutTarget(ctx context.Context, t domain.Target) (domain.Target, error) {
	rev, err := put(ctx, s.kv, targetKey(t.EnvironmentID), t, t.Revision)
	t.Revision = rev
	return t, err
}

// ListTargets reads every environment record.
func (s *KVGrants) ListTargets(ctx context.Context) ([]domain.Target, error) {
	return list(ctx, s.kv, "env.>", func(t *domain.Target, rev uint64) { t.Revision = rev })
}

// GetIssued reads an issued login; app.ErrNotFound if none.
func (s *KVGrants) GetIssued(ctx context.Context, name string) (domain.Issued, error) {
	i, rev, err := get[domain.Issued](ctx, s.kv, issuedKey(name))
	i.Revision = rev
	return i, err
}

// PutIssued creates i (Revision 0) or replaces it at its revision.
func (s *KVGrants) PutIssued(ctx context.Context, i domain.Issued) (domain.Issued, error) {
	rev, err := put(ctx, s.kv, issuedKey(i.Name), i, i.Revision)
	i.Revision = rev
	return i, err
}

// DeleteIssued forgets i if it is still at its revision.
func (s *KVGrants) DeleteIssued(ctx context.Context, i domain.Issued) error {
	err := s.kv.Delete(ctx, issuedKey(i.Name), jetstream.LastRevision(i.Revision))
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("delete issued login %s: %w", i.Name, app.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete issued login %s: %w", i.Name, err)
	}
	return nil
}

// ListIssued reads every issued login.
func (s *KVGrants) ListIssued(ctx context.Context) ([]domain.Issued, error) {
	return list(ctx, s.kv, "cred.>", func(i *domain.Issued, rev uint64) { i.Revision = rev })
}

func get[T any](ctx context.Context, kv jetstream.KeyValue, key string) (T, uint64, error) {
	var v T
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return v, 0, app.ErrNotFound
	}
	if err != nil {
		return v, 0, fmt.Errorf("get %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, e.Revision(), nil
}

// put creates the key when rev is 0 (app.ErrConflict if it exists, also
// as a deleted key's marker is fine), else updates it at rev.
func put(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	var n uint64
	if rev == 0 {
		n, err = kv.Create(ctx, key, raw)
	} else {
		n, err = kv.Update(ctx, key, raw, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return 0, fmt.Errorf("write %s: %w", key, app.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", key, err)
	}
	return n, nil
}

func list[T any](ctx context.Context, kv jetstream.KeyValue, filter string, setRev func(*T, uint64)) ([]T, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", filter, err)
	}
	defer func() { _ = w.Stop() }()
	var out []T
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list %s: %w", filter, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("list %s: watcher closed", filter)
			}
			if e == nil {
				return out, nil
			}
			var v T
			if err := json.Unmarshal(e.Value(), &v); err != nil {
				return nil, fmt.Errorf("decode %s: %w", e.Key(), err)
			}
			setRev(&v, e.Revision())
			out = append(out, v)
		}
	}
}
