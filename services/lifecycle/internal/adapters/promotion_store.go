package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
)

// PromotionBucket is the KV bucket of promotion pipelines: `app.<name>`
// an application, `prm.<id>` a promotion, `watch.<operation>` the saga
// step waiting for an environment operation, `ci.<app>.<commit>` the CI
// conclusions of a commit.
const PromotionBucket = "LIFECYCLE_PROMOTIONS"

// KVPromotions stores applications, promotions and CI results in
// JetStream KV; every write of a promotion is a compare-and-set.
type KVPromotions struct{ kv jetstream.KeyValue }

var (
	_ promotion.Promotions   = (*KVPromotions)(nil)
	_ promotion.Applications = (*KVApplications)(nil)
	_ promotion.CIResults    = (*KVPromotions)(nil)
)

// NewKVPromotions declares the bucket and returns the store.
func NewKVPromotions(ctx context.Context, js jetstream.JetStream, replicas int) (*KVPromotions, error) {
	b, err := kv.Declare(ctx, js, kv.Spec{Bucket: PromotionBucket, Description: "applications, promotions and CI results",
		History: 5, Replicas: replicas})
	if err != nil {
		return nil, err
	}
	return &KVPromotions{kv: b}, nil
}

func (s *KVPromotions) getJSON(ctx context.Context, key string, v any) (uint64, error) {
	entry, err := s.kv.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(entry.Value(), v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return entry.Revision(), nil
}

// KVApplications is the application half of the bucket.
type KVApplications struct{ s *KVPromotions }

// Applications is the store of applications in the same bucket.
func (s *KVPromotions) Applications() *KVApplications { return &KVApplications{s: s} }

// Put stores an application.
func (a *KVApplications) Put(ctx context.Context, application domain.Application) error {
	raw, err := json.Marshal(application)
	if err != nil {
		return err
	}
	if _, err := a.s.kv.Put(ctx, "app."+application.Name, raw); err != nil {
		return fmt.Errorf("store application %s: %w", application.Name, err)
	}
	return nil
}

// Get returns an application, or promotion.ErrApplicationNotFound.
func (s *KVApplications) Get(ctx context.Context, name string) (domain.Application, error) {
	var a domain.Application
	if !validKeyToken(name) {
		return a, promotion.ErrApplicationNotFound
	}
	_, err := s.s.getJSON(ctx, "app."+name, &a)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return a, promotion.ErrApplicationNotFound
	}
	return a, err
}

// List returns every application.
func (s *KVApplications) List(ctx context.Context) ([]domain.Application, error) {
	var out []domain.Application
	err := s.s.each(ctx, "app.", func(key string) error {
		a, err := s.Get(ctx, strings.TrimPrefix(key, "app."))
		if err == nil {
			out = append(out, a)
		}
		if errors.Is(err, promotion.ErrApplicationNotFound) {
			return nil
		}
		return err
	})
	return out, err
}

func (s *KVPromotions) each(ctx context.Context, prefix string, f func(key string) error) error {
	lister, err := s.kv.ListKeysFiltered(ctx, prefix+">")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	for key := range lister.Keys() {
		if err := f(key); err != nil {
			return err
		}
	}
	return nil
}

// Create stores a new promotion.
func (s *KVPromotions) Create(ctx context.Context, r promotion.PromotionRecord) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.kv.Create(ctx, "prm."+r.ID, raw); err != nil {
		return fmt.Errorf("create promotion %s: %w", r.ID, err)
	}
	return nil
}

// Get returns a promotion and its revision, or promotion.ErrPromotionNotFound.
func (s *KVPromotions) Get(ctx context.Context, id string) (promotion.PromotionRecord, uint64, error) {
	var r promotion.PromotionRecord
	if !domain.ValidPromotionID(id) {
		return r, 0, promotion.ErrPromotionNotFound
	}
	rev, err := s.getJSON(ctx, "prm."+id, &r)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return r, 0, promotion.ErrPromotionNotFound
	}
	return r, rev, err
}

// Update writes r if the stored revision is still rev; otherwise
// app.ErrConflict.
func (s *KVPromotions) Update(ctx context.Context, r promotion.PromotionRecord, rev uint64) error {
	_, err := kv.Over[promotion.PromotionRecord](s.kv).Write(ctx, "prm."+r.ID, r, rev)
	if errors.Is(err, kv.ErrConflict) {
		return app.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("update promotion %s: %w", r.ID, err)
	}
	return nil
}

// List returns every promotion.
func (s *KVPromotions) List(ctx context.Context) ([]promotion.PromotionRecord, error) {
	var out []promotion.PromotionRecord
	err := s.each(ctx, "prm.", func(key string) error {
		r, _, err := s.Get(ctx, strings.TrimPrefix(key, "prm."))
		if err == nil {
			out = append(out, r)
		}
		if errors.Is(err, promotion.ErrPromotionNotFound) {
			return nil
		}
		return err
	})
	return out, err
}

// Watch records that step ref waits for environment operation opID.
func (s *KVPromotions) Watch(ctx context.Context, opID string, ref saga.Ref) error {
	raw, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, "watch."+opID, raw); err != nil {
		return fmt.Errorf("watch %s: %w", opID, err)
	}
	return nil
}

// Watched returns the step waiting for operation opID, if any.
func (s *KVPromotions) Watched(ctx context.Context, opID string) (saga.Ref, bool, error) {
	var ref saga.Ref
	if !saga.ValidID(opID) {
		return ref, false, nil
	}
	_, err := s.getJSON(ctx, "watch."+opID, &ref)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return ref, false, nil
	}
	return ref, err == nil, err
}

func ciKey(application, commit string) string { return "ci." + application + "." + commit }

// Record stores one CI run's conclusion for the commit; a later report of
// the same run replaces it.
func (s *KVPromotions) Record(ctx context.Context, application, commit, name, conclusion string) error {
	if !validKeyToken(application) || !domain.ValidCommit(commit) {
		return fmt.Errorf("record ci result: %w: application %q, commit %q", domain.ErrInvalid, application, commit)
	}
	_, _, err := kv.Over[map[string]string](s.kv).Upsert(ctx, ciKey(application, commit), func(runs *map[string]string, _ bool) error {
		if *runs == nil {
			*runs = map[string]string{}
		}
		(*runs)[name] = conclusion
		return nil
	})
	return err
}

// Conclusions returns each recorded CI run's conclusion for the commit.
func (s *KVPromotions) Conclusions(ctx context.Context, application, commit string) (map[string]string, error) {
	runs := map[string]string{}
	if !validKeyToken(application) || !domain.ValidCommit(commit) {
		return runs, nil
	}
	_, err := s.getJSON(ctx, ciKey(application, commit), &runs)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return runs, nil
	}
	return runs, err
}

// validKeyToken accepts application names as KV key tokens.
func validKeyToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// RecordCandidate keeps c as the application's newest candidate, unless a
// later push is already kept.
func (s *KVPromotions) RecordCandidate(ctx context.Context, application string, c domain.Candidate) error {
	if !validKeyToken(application) {
		return fmt.Errorf("record candidate: %w: application %q", domain.ErrInvalid, application)
	}
	cur, ok, err := s.Candidate(ctx, application)
	if err != nil || (ok && cur.At.After(c.At)) {
		return err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, "candidate."+application, raw); err != nil {
		return fmt.Errorf("record candidate of %s: %w", application, err)
	}
	return nil
}

// Candidate returns the application's newest candidate, if any.
func (s *KVPromotions) Candidate(ctx context.Context, application string) (domain.Candidate, bool, error) {
	var c domain.Candidate
	if !validKeyToken(application) {
		return c, false, nil
	}
	_, err := s.getJSON(ctx, "candidate."+application, &c)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return c, false, nil
	}
	return c, err == nil, err
}
