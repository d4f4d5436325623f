package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/app"
)

// Consumers registers what the leader consumes: its commands and the
// runners' reports.
func Consumers(r *bus.Router, l *app.Leader) {
	r.Handle(bus.ConsumerSpec{
		Stream: "CMD_SCHEDULER", Durable: "scheduler", FilterSubjects: []string{"pave.cmd.scheduler.>"},
		MaxDeliver: 20, Concurrency: 256, MaxAckPending: 4096,
	}, Commands(l))
	r.Handle(bus.ConsumerSpec{
		Stream: "EVT_RUNNER", Durable: "scheduler-reports", FilterSubjects: []string{"pave.evt.runner.job.>"},
		MaxDeliver: 20, Concurrency: 256, MaxAckPending: 4096,
	}, Reports(l))
}

// Commands handles pave.cmd.scheduler.>: the command is acknowledged once
// what it changed is in the log. A submit that is invalid is answered by
// a rejected event (for the saga that sent it) and dead-lettered with the
// reason.
func Commands(l *app.Leader) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var err error
		switch e.Type() {
		case events.TypeSubmitCommand:
			var c events.SubmitCommand
			if err = unmarshal(e, &c); err == nil {
				err = l.Queue(ctx, c)
			}
		case events.TypeReleaseCommand:
			var c events.ReleaseCommand
			if err = unmarshal(e, &c); err == nil {
				err = l.Release(ctx, c)
			}
		case events.TypeSettleCommand:
			var c events.SettleCommand
			if err = unmarshal(e, &c); err == nil {
				err = l.Settle(ctx, c)
			}
		case events.TypeCancelCommand:
			var c events.CancelCommand
			if err = unmarshal(e, &c); err == nil {
				_, err = l.Cancel(ctx, c.WorkloadID, c.By, c.Reason, func(string) bool { return true })
			}
		default:
			return bus.Permanent(fmt.Errorf("scheduler: unknown command %s", e.Type()))
		}
		var ie *app.InputError
		if errors.As(err, &ie) || errors.Is(err, app.ErrNotFound) || errors.Is(err, app.ErrConflict) {
			return bus.Permanent(err)
		}
		return err
	}
}

// Reports handles the runners' pave.evt.runner.job.> events.
func Reports(l *app.Leader) bus.Handler {
	return func(ctx context.Context, e event.Event) error {
		var data any
		var err error
		switch e.Type() {
		case events.TypeJobStarted:
			var d events.JobStarted
			err = unmarshal(e, &d)
			data = d
		case events.TypeJobFinished:
			var d events.JobFinished
			err = unmarshal(e, &d)
			data = d
		case events.TypeJobTimedOut:
			var d events.JobTimedOut
			err = unmarshal(e, &d)
			data = d
		case events.TypeJobStopped:
			var d events.JobStopped
			err = unmarshal(e, &d)
			data = d
		default:
			return bus.Permanent(fmt.Errorf("scheduler: unknown report %s", e.Type()))
		}
		if err != nil {
			return err
		}
		return l.Report(ctx, e.Type(), data)
	}
}

func unmarshal(e event.Event, v any) error {
	if err := json.Unmarshal(e.Data(), v); err != nil {
		return bus.Permanent(fmt.Errorf("%s %s: %w", e.Type(), e.ID(), err))
	}
	return nil
}
