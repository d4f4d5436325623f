package runner

import (
	"context"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/bus"
)

// publish sends a report and keeps retrying while NATS cannot take it,
// until ctx ends: a report is never dropped while the runner runs. Only a
// report that can never be published (it fails its schema) is given up,
// with an error log.
func (r *Runner) publish(ctx context.Context, id, eventType string, data any) {
	e, err := bus.NewEvent(id, Source, eventType, data)
	if err != nil {
		r.log.Error("report not built", "event_id", id, "type", eventType, "error", err)
		return
	}
	// The scheduler orders a workload's reports by the CloudEvent
	// subject, and handles different workloads' reports in parallel.
	workload, _, _ := strings.Cut(id, "/")
	e.SetSubject(workload)
	wait := 100 * time.Millisecond
	for {
		err := r.bus.Publish(ctx, e)
		switch {
		case err == nil:
			return
		case bus.IsPermanent(err):
			r.log.Error("report rejected; dropped", "event_id", id, "type", eventType, "error", err)
			return
		case ctx.Err() != nil:
			r.log.Error("report given up: the runner is stopping", "event_id", id, "type", eventType, "error", err)
			return
		}
		r.log.Warn("report not published; retrying", "event_id", id, "type", eventType, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}
