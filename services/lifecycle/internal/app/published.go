package app

import (
	"context"
	"slices"
	"sync"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// published remembers, per environment, the last transition event this
// process published but did not yet remove from the stored environment.
// An environment in flight (an operation runs) is written again soon —
// its saga ends — and that write drops what was published, which saves
// the write of its own a removal costs. An environment at rest has its
// outbox cleared at once. Entries go when a write no longer holds them,
// so there is at most one per environment in flight.
type published struct {
	mu  sync.Mutex
	seq map[string]int
}

func newPublished() *published { return &published{seq: map[string]int{}} }

func (p *published) mark(id string, seq int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq[id] = max(p.seq[id], seq)
}

func (p *published) last(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seq[id]
}

func (p *published) forget(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.seq, id)
}

func (p *published) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seq)
}

// unpublished is the outbox less what was published.
func (p *published) unpublished(e domain.Environment) []events.EnvironmentTransitioned {
	last := p.last(e.ID)
	return slices.DeleteFunc(slices.Clone(e.Outbox), func(ev events.EnvironmentTransitioned) bool { return ev.Seq <= last })
}

// inFlight says whether an operation runs: a later write is sure to come.
func inFlight(s domain.State) bool {
	switch s {
	case domain.StateRequested, domain.StateQueued, domain.StateProvisioning,
		domain.StateUpdating, domain.StateDecommissioning:
		return true
	}
	return false
}

// lazyOutbox is the environment store whose writes drop the transition
// events already published.
type lazyOutbox struct {
	Environments
	sent *published
}

func (l lazyOutbox) Update(ctx context.Context, e domain.Environment, rev uint64) error {
	last := l.sent.last(e.ID)
	if last > 0 {
		e.Outbox = slices.DeleteFunc(slices.Clone(e.Outbox), func(ev events.EnvironmentTransitioned) bool { return ev.Seq <= last })
		if len(e.Outbox) == 0 {
			e.Outbox = nil
		}
	}
	if err := l.Environments.Update(ctx, e, rev); err != nil {
		return err
	}
	if last > 0 {
		l.sent.forget(e.ID)
	}
	return nil
}
