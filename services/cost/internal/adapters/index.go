package adapters

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// Key prefixes of the meters bucket.
const (
	PrefixResource    = "res."
	PrefixJob         = "job."
	PrefixPlan        = "plan."
	PrefixEnvironment = "env."
)

// Index is the meters bucket in memory, kept current by a watch: every
// replica answers queries from it, and a restart rebuilds it from the
// bucket, so nothing accrued is lost or counted twice.
type Index struct {
	mu    sync.RWMutex
	snap  domain.Snapshot
	lines []domain.Line
	dirty bool
	ready chan struct{}
	w     jetstream.KeyWatcher
	done  chan struct{}
	log   *slog.Logger
}

// WatchIndex starts watching the meters bucket; Ready closes once the
// bucket's current content is loaded. The watch lives until Stop, not
// as long as ctx (a start context ends when the start does).
func WatchIndex(ctx context.Context, kv *KV, log *slog.Logger) (*Index, error) {
	w, err := kv.kv.WatchAll(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", MetersBucket, err)
	}
	ix := &Index{snap: domain.NewSnapshot(), ready: make(chan struct{}), w: w, done: make(chan struct{}), log: log}
	go ix.run()
	return ix, nil
}

func (ix *Index) run() {
	defer close(ix.done)
	loaded := false
	for e := range ix.w.Updates() {
		if e == nil {
			if !loaded {
				loaded = true
				close(ix.ready)
			}
			continue
		}
		if e.Operation() != jetstream.KeyValuePut {
			ix.drop(e.Key())
			continue
		}
		if err := ix.apply(e.Key(), e.Value()); err != nil {
			ix.log.Warn("cost meter not readable", "key", e.Key(), "error", err)
		}
	}
}

// Ready closes once the bucket's content at start is loaded.
func (ix *Index) Ready() <-chan struct{} { return ix.ready }

// Stop ends the watch.
func (ix *Index) Stop() error {
	err := ix.w.Stop()
	<-ix.done
	return err
}

func (ix *Index) apply(key string, raw []byte) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dirty = true
	switch {
	case strings.HasPrefix(key, PrefixResource):
		var m domain.ResourceMeter
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		ix.snap.Resources[m.ResourceID] = m
	case strings.HasPrefix(key, PrefixJob):
		var m domain.JobMeter
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		ix.snap.Jobs[m.WorkloadID] = m
	case strings.HasPrefix(key, PrefixPlan):
		var p domain.Plan
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		ix.snap.Plans[p.SagaID] = p
	case strings.HasPrefix(key, PrefixEnvironment):
		var e domain.Environment
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		ix.snap.Environments[e.ID] = e
	}
	return nil
}

// Forget removes the meters e names that are still closed before
// horizon from memory.
func (ix *Index) Forget(e domain.Expired, horizon time.Time) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dirty = true
	ix.snap.Forget(e, horizon)
}

// drop removes the meter at a deleted key.
func (ix *Index) drop(key string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.dirty = true
	prefix, id, _ := strings.Cut(key, ".")
	switch prefix + "." {
	case PrefixResource:
		delete(ix.snap.Resources, id)
	case PrefixJob:
		delete(ix.snap.Jobs, id)
	case PrefixPlan:
		delete(ix.snap.Plans, id)
	case PrefixEnvironment:
		delete(ix.snap.Environments, id)
	}
}

// Size is how many meters of each kind are in memory.
func (ix *Index) Size() (resources, jobs, plans, environments int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.snap.Resources), len(ix.snap.Jobs), len(ix.snap.Plans), len(ix.snap.Environments)
}

// Read calls f with the snapshot and its lines; f must not keep or
// change them.
func (ix *Index) Read(f func(domain.Snapshot, []domain.Line)) {
	ix.mu.RLock()
	if !ix.dirty {
		defer ix.mu.RUnlock()
		f(ix.snap, ix.lines)
		return
	}
	ix.mu.RUnlock()
	ix.mu.Lock()
	if ix.dirty {
		ix.lines, ix.dirty = domain.Lines(ix.snap), false
	}
	ix.mu.Unlock()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	f(ix.snap, ix.lines)
}
