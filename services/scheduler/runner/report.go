package runner

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/bus"
)

// ranRetention is how long a spool of a platform not seen since is kept.
const ranRetention = 7 * 24 * time.Hour

// firstAttempt bounds the first publish of a report; one that does not
// get through in it goes to the spool before the retries.
const firstAttempt = 2 * time.Second

// publish sends a report and keeps retrying while NATS cannot take it (a
// full stream, NATS down), until ctx ends: a report is never dropped. One
// the first attempt does not get through is kept in the spool first, so
// that it outlives the runner: the next start publishes it. Only a report
// that can never be published (it fails its schema) is given up, with an
// error log.
func (r *Runner) publish(ctx context.Context, id, eventType string, data any) {
	actx, cancel := context.WithTimeout(ctx, firstAttempt)
	ok := r.send(actx, id, eventType, data, false)
	cancel()
	if ok {
		return
	}
	path, err := r.spool.put(id, eventType, data)
	if err != nil {
		r.log.Warn("report not spooled; kept in memory only", "event_id", id, "error", err)
	}
	if r.send(ctx, id, eventType, data, true) {
		r.spool.done(path)
	}
}

// send publishes a report until it is taken or given up (true), or ctx
// ends first (false: it stays in the spool).
func (r *Runner) send(ctx context.Context, id, eventType string, data any, retry bool) bool {
	e, err := bus.NewEvent(id, Source, eventType, data)
	if err != nil {
		r.log.Error("report not built", "event_id", id, "type", eventType, "error", err)
		return true
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
			return true
		case bus.IsPermanent(err):
			r.log.Error("report rejected; dropped", "event_id", id, "type", eventType, "error", err)
			return true
		case ctx.Err() != nil && !retry:
			return false
		case ctx.Err() != nil:
			r.log.Warn("report not published before the runner stopped; kept in the spool for the next start",
				"event_id", id, "type", eventType, "error", err)
			return false
		}
		r.log.Warn("report not published; retrying", "event_id", id, "type", eventType, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// resend publishes, in order, the reports an earlier run left in the
// spool, until ctx ends.
func (r *Runner) resend(ctx context.Context, left []spooled) {
	for _, s := range left {
		if r.send(ctx, s.ID, s.Type, json.RawMessage(s.Data), true) {
			r.spool.done(s.path)
			continue
		}
		return
	}
	if len(left) > 0 {
		r.log.Info("reports left by an earlier run published", "count", len(left))
	}
}
