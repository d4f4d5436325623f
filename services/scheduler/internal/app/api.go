package app

import (
	"context"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// The leader's use cases. Each runs inside the leader's loop and answers
// once what it changed is in the log.

// Submit queues a workload (API and command).
func (l *Leader) Submit(ctx context.Context, cmd events.SubmitCommand) (Submitted, error) {
	res, err := l.Do(ctx, func(t *tx) (any, error) { return t.Submit(cmd) })
	if err != nil {
		return Submitted{}, err
	}
	return res.(Submitted), nil
}

// Queue queues a workload like Submit, without the answer's view (the
// submit command's consumer).
func (l *Leader) Queue(ctx context.Context, cmd events.SubmitCommand) error {
	_, err := l.Do(ctx, func(t *tx) (any, error) {
		_, err := t.queue(cmd)
		return nil, err
	})
	return err
}

// Release gives an admission back (command).
func (l *Leader) Release(ctx context.Context, cmd events.ReleaseCommand) error {
	_, err := l.Do(ctx, func(t *tx) (any, error) { return nil, t.Release(cmd) })
	return err
}

// Settle shrinks an admitted workload's demand (command).
func (l *Leader) Settle(ctx context.Context, cmd events.SettleCommand) error {
	_, err := l.Do(ctx, func(t *tx) (any, error) { return nil, t.Settle(cmd) })
	return err
}

// Cancel dequeues a workload or stops its job. visible says whether the
// caller may see the workload's team; if not, the workload does not exist
// for it.
func (l *Leader) Cancel(ctx context.Context, id, by, reason string, visible func(team string) bool) (View, error) {
	res, err := l.Do(ctx, func(t *tx) (any, error) {
		if m := t.l.core.metas[id]; m == nil || !visible(m.spec.Team) {
			return View{}, ErrNotFound
		}
		return t.Cancel(id, by, reason)
	})
	if err != nil {
		return View{}, err
	}
	return res.(View), nil
}

// Report applies a runner's report about a job.
func (l *Leader) Report(ctx context.Context, eventType string, data any) error {
	_, err := l.Do(ctx, func(t *tx) (any, error) { return nil, t.Report(eventType, data) })
	return err
}

// Get returns a workload the caller may see.
func (l *Leader) Get(ctx context.Context, id string, visible func(team string) bool) (View, error) {
	res, err := l.Do(ctx, func(t *tx) (any, error) {
		v, ok := t.l.core.Get(id)
		if !ok || !visible(v.Team) {
			return View{}, ErrNotFound
		}
		return v, nil
	})
	if err != nil {
		return View{}, err
	}
	v := res.(View)
	l.withOutput(ctx, &v)
	return v, nil
}

// withOutput replaces the tail of an ended job's output, which is all the
// events keep, with the output the runner stored in the JOB_OUTPUT object
// store, while that is there.
func (l *Leader) withOutput(ctx context.Context, v *View) {
	if v.Kind != events.WorkloadKindJob || v.Admission == 0 || v.ExitCode == nil || l.opts.Outputs == nil {
		return
	}
	out, ok, err := l.opts.Outputs.Read(ctx, v.ID, v.Admission)
	switch {
	case err != nil:
		l.logger.Warn("job output not read; showing its tail", "workload", v.ID, "admission", v.Admission, "error", err)
	case ok:
		v.Output = out
	}
}

// List returns workloads.
func (l *Leader) List(ctx context.Context, f ListFilter) ([]View, error) {
	res, err := l.Do(ctx, func(t *tx) (any, error) { return t.l.core.List(f), nil })
	if err != nil {
		return nil, err
	}
	return res.([]View), nil
}

// Pools lists the pools with the usage of the teams the caller may see.
func (l *Leader) Pools(ctx context.Context, visible func(team string) bool) ([]PoolView, error) {
	res, err := l.Do(ctx, func(t *tx) (any, error) { return t.l.core.Pools(visible), nil })
	if err != nil {
		return nil, err
	}
	return res.([]PoolView), nil
}

// SetPool adds or changes a pool.
func (l *Leader) SetPool(ctx context.Context, name string, capacity map[string]int64) error {
	_, err := l.Do(ctx, func(t *tx) (any, error) { return nil, t.SetPool(name, capacity) })
	return err
}

// Team returns a team's quotas.
func (l *Leader) Team(ctx context.Context, name string) (TeamView, error) {
	res, err := l.Do(ctx, func(t *tx) (any, error) {
		v, ok := t.l.core.Team(name)
		if !ok {
			if d, def := t.l.cfg.DefaultTeamFor(name); def {
				ev := teamEvent(d, SourceDefault, t.now)
				return TeamView{Name: ev.Name, Weight: ev.Weight, Nominal: ev.Nominal,
					BorrowingLimit: ev.BorrowingLimit, LendingLimit: ev.LendingLimit}, nil
			}
			return TeamView{}, ErrNotFound
		}
		return v, nil
	})
	if err != nil {
		return TeamView{}, err
	}
	return res.(TeamView), nil
}

// SetTeam adds or changes a team's weight and quotas.
func (l *Leader) SetTeam(ctx context.Context, team domain.Team) error {
	_, err := l.Do(ctx, func(t *tx) (any, error) { return nil, t.SetTeam(team) })
	return err
}
