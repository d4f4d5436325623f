package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
)

// stopSubjects are the scheduler events after which a job must not run
// on: its admission was preempted, requeued, failed or released, or the
// workload cancelled.
var stopSubjects = []string{
	"pave.evt.scheduler.workload.preempted",
	"pave.evt.scheduler.workload.requeued",
	"pave.evt.scheduler.workload.cancelled",
	"pave.evt.scheduler.workload.failed",
	"pave.evt.scheduler.workload.released",
}

// stopNotice is what the stop events have in common. Admission is 0 in
// the events that concern every admission of the workload.
type stopNotice struct {
	WorkloadID string `json:"workload_id"`
	Admission  int    `json:"admission"`
	Reason     string `json:"reason"`
	By         string `json:"by"`
}

// watchScheduler follows the scheduler's stop events from now on with an
// ordered consumer: every runner sees every event, none is acked, and
// after a reconnect it resumes where it was.
func (r *Runner) watchScheduler(ctx context.Context) (jetstream.ConsumeContext, error) {
	cc, err := bus.Follow(ctx, r.bus.JetStream(), "EVT_SCHEDULER", jetstream.OrderedConsumerConfig{
		FilterSubjects: stopSubjects, DeliverPolicy: jetstream.DeliverNewPolicy,
	}, r.onStopEvent)
	if err != nil {
		return nil, fmt.Errorf("watch scheduler events: %w", err)
	}
	return cc, nil
}

func (r *Runner) onStopEvent(m jetstream.Msg) {
	e, err := bus.Decode(m.Headers(), m.Data())
	var n stopNotice
	if err == nil {
		err = json.Unmarshal(e.Data(), &n)
	}
	if err != nil || n.WorkloadID == "" {
		r.log.Warn("scheduler event not understood", "subject", m.Subject(), "error", err)
		return
	}
	r.stopMatching(n.WorkloadID, n.Admission, stopReason(m.Subject(), n))
}

// stopReason is the JobStopped reason: what the scheduler did, and why.
func stopReason(subject string, n stopNotice) string {
	what := subject[strings.LastIndexByte(subject, '.')+1:]
	if n.By != "" {
		what += " by " + n.By
	}
	if n.Reason != "" {
		what += ": " + n.Reason
	}
	return what
}
