package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pave-platform/pave/services/cost/internal/domain"
)

// horizon is the oldest moment whose spend is all kept; zero when every
// meter is kept.
func (s *Service) horizon() time.Time {
	if s.keep <= 0 {
		return time.Time{}
	}
	return s.now().Add(-s.keep)
}

// retained refuses a window that starts before the horizon.
func (s *Service) retained(w domain.Window) error {
	return domain.CheckRetained(w, s.horizon(), fmt.Sprintf("PAVE_COST_METER_RETENTION=%dh", int64(s.keep.Hours())))
}

// Sweep forgets the meters closed before the horizon: they leave the
// bucket (so a start does not read them) and memory. Each is checked
// again as stored before it goes; several replicas may sweep at once.
// It answers how many meters it forgot.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	h := s.horizon()
	if h.IsZero() {
		return 0, nil
	}
	var exp domain.Expired
	s.index.Read(func(snap domain.Snapshot, _ []domain.Line) { exp = domain.ExpiredAt(snap, h) })
	var gone domain.Expired
	var errs []error
	forget := func(into *[]string, id, key string, stale func([]byte) bool) {
		if ctx.Err() != nil {
			return
		}
		ok, err := s.meters.Forget(ctx, key, stale)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			*into = append(*into, id)
		}
	}
	for _, id := range exp.Resources {
		forget(&gone.Resources, id, "res."+id, stale(func(m domain.ResourceMeter) bool { return m.ClosedBefore(h) }))
	}
	for _, id := range exp.Jobs {
		forget(&gone.Jobs, id, "job."+id, stale(func(j domain.JobMeter) bool { return j.ClosedBefore(h) }))
	}
	for _, id := range exp.Plans {
		forget(&gone.Plans, id, "plan."+id, stale(func(p domain.Plan) bool { return p.At.Before(h) }))
	}
	for _, id := range exp.Environments {
		forget(&gone.Environments, id, "env."+id, stale(func(e domain.Environment) bool { return e.FinishedBefore(h) }))
	}
	s.index.Forget(gone, h)
	return gone.Len(), errors.Join(append(errs, ctx.Err())...)
}

// stale reads a stored meter and asks f whether it may go; one that does
// not decode stays.
func stale[T any](f func(T) bool) func([]byte) bool {
	return func(raw []byte) bool {
		var v T
		return json.Unmarshal(raw, &v) == nil && f(v)
	}
}
