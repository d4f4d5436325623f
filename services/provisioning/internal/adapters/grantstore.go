package adapters

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/services/provisioning/internal/app"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// GrantsBucket holds provisioning's desired credential state: the grants
// access announced (grant.<hash of id>), the environments they apply to
// (env.<id>) and the logins issued (cred.<name>). Every write is a
// compare-and-set on the key's revision.
const GrantsBucket = "PROVISIONING_GRANTS"

// KVGrants is the grant store on JetStream KV: three typed tables over
// one bucket.
type KVGrants struct {
	forget  *kv.Forgetter
	grants  *kv.Table[domain.Grant]
	targets *kv.Table[domain.Target]
	issued  *kv.Table[domain.Issued]
}

var (
	_ app.GrantStore      = (*KVGrants)(nil)
	_ app.GrantTombstones = (*KVGrants)(nil)
)

// NewKVGrants declares the bucket (idempotently) and returns the store.
func NewKVGrants(ctx context.Context, js jetstream.JetStream, replicas int) (*KVGrants, error) {
	b, err := kv.Declare(ctx, js, kv.Spec{
		Bucket:      GrantsBucket,
		Description: "provisioning: desired grants, their environments and the sealed grant logins issued",
		History:     5,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, err
	}
	f, err := kv.NewForgetter(ctx, js, b)
	if err != nil {
		return nil, err
	}
	return &KVGrants{forget: f, grants: kv.Over[domain.Grant](b), targets: kv.Over[domain.Target](b), issued: kv.Over[domain.Issued](b)}, nil
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
	g, rev, err := s.grants.Get(ctx, grantKey(id))
	g.Revision = rev
	return g, appErr(err)
}

// PutGrant creates g (Revision 0) or replaces it at its revision.
func (s *KVGrants) PutGrant(ctx context.Context, g domain.Grant) (domain.Grant, error) {
	rev, err := s.grants.Write(ctx, grantKey(g.GrantID), g, g.Revision)
	g.Revision = rev
	return g, appErr(err)
}

// ListGrants reads every grant, revoked ones included.
func (s *KVGrants) ListGrants(ctx context.Context) ([]domain.Grant, error) {
	return list(ctx, s.grants, "grant.>", func(g *domain.Grant, rev uint64) { g.Revision = rev })
}

// ForgetGrant removes grant id's record, every revision and without a
// marker, if stale says the record as stored may go; true when it is gone.
func (s *KVGrants) ForgetGrant(ctx context.Context, id string, stale func(domain.Grant) bool) (bool, error) {
	return s.forget.Forget(ctx, grantKey(id), func(raw []byte) bool {
		var g domain.Grant
		return json.Unmarshal(raw, &g) == nil && stale(g)
	})
}

// GetTarget reads an environment's record; app.ErrNotFound if unknown.
func (s *KVGrants) GetTarget(ctx context.Context, envID string) (domain.Target, error) {
	t, rev, err := s.targets.Get(ctx, targetKey(envID))
	t.Revision = rev
	return t, appErr(err)
}

// PutTarget creates t (Revision 0) or replaces it at its revision.
func (s *KVGrants) PutTarget(ctx context.Context, t domain.Target) (domain.Target, error) {
	rev, err := s.targets.Write(ctx, targetKey(t.EnvironmentID), t, t.Revision)
	t.Revision = rev
	return t, appErr(err)
}

// ListTargets reads every environment record.
func (s *KVGrants) ListTargets(ctx context.Context) ([]domain.Target, error) {
	return list(ctx, s.targets, "env.>", func(t *domain.Target, rev uint64) { t.Revision = rev })
}

// GetIssued reads an issued login; app.ErrNotFound if none.
func (s *KVGrants) GetIssued(ctx context.Context, name string) (domain.Issued, error) {
	i, rev, err := s.issued.Get(ctx, issuedKey(name))
	i.Revision = rev
	return i, appErr(err)
}

// PutIssued creates i (Revision 0) or replaces it at its revision.
func (s *KVGrants) PutIssued(ctx context.Context, i domain.Issued) (domain.Issued, error) {
	rev, err := s.issued.Write(ctx, issuedKey(i.Name), i, i.Revision)
	i.Revision = rev
	return i, appErr(err)
}

// DeleteIssued forgets i if it is still at its revision.
func (s *KVGrants) DeleteIssued(ctx context.Context, i domain.Issued) error {
	if err := s.issued.Delete(ctx, issuedKey(i.Name), i.Revision); err != nil {
		return fmt.Errorf("delete issued login %s: %w", i.Name, appErr(err))
	}
	return nil
}

// ListIssued reads every issued login.
func (s *KVGrants) ListIssued(ctx context.Context) ([]domain.Issued, error) {
	return list(ctx, s.issued, "cred.>", func(i *domain.Issued, rev uint64) { i.Revision = rev })
}

func list[T any](ctx context.Context, t *kv.Table[T], filter string, setRev func(*T, uint64)) ([]T, error) {
	entries, err := t.List(ctx, filter)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(entries))
	for _, e := range entries {
		setRev(&e.Value, e.Revision)
		out = append(out, e.Value)
	}
	return out, nil
}

// appErr turns the table's errors into the app's: app.ErrNotFound, and
// app.ErrConflict with the key.
func appErr(err error) error {
	switch {
	case errors.Is(err, kv.ErrNotFound):
		return app.ErrNotFound
	case errors.Is(err, kv.ErrConflict):
		return fmt.Errorf("%w: %w", app.ErrConflict, err)
	}
	return err
}
