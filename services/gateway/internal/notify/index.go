package notify

import (
	"context"
	"log/slog"
	"sync"

	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// Index holds every subscription in memory, fed by a watch of the
// subscriptions table (bounded by it: PAVE_NOTIFY_MAX_SUBSCRIPTIONS), so
// matching an event reads no bucket. This instance's own writes apply at
// once; other instances' arrive with the watch.
type Index struct {
	mu   sync.RWMutex
	subs map[string]domain.Subscription
}

// NewIndex is an empty index.
func NewIndex() *Index { return &Index{subs: map[string]domain.Subscription{}} }

// Put stores s.
func (x *Index) Put(s domain.Subscription) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.subs[s.ID] = s
}

// Delete forgets id.
func (x *Index) Delete(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.subs, id)
}

// Get is the subscription id, if it is known.
func (x *Index) Get(id string) (domain.Subscription, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.subs[id]
	return s, ok
}

// Match lists the subscriptions that want the event.
func (x *Index) Match(a domain.Attrs) []domain.Subscription {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []domain.Subscription
	for _, s := range x.subs {
		if s.Matches(a) {
			out = append(out, s)
		}
	}
	return out
}

// Load reads the whole table into the index (at start, before the
// consumers run).
func (x *Index) Load(ctx context.Context, st *Stores) error {
	es, err := st.Subs.List(ctx, ">")
	if err != nil {
		return err
	}
	for _, e := range es {
		x.Put(e.Value)
	}
	return nil
}

// Follow applies every change of the table until ctx ends.
func (x *Index) Follow(ctx context.Context, st *Stores, log *slog.Logger) {
	err := st.Subs.Follow(ctx, func(_ string, s domain.Subscription) { x.Put(s) }, x.Delete)
	if err != nil {
		log.ErrorContext(ctx, "watch subscriptions", "error", err)
	}
}
