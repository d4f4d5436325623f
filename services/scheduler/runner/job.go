package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// errSlotsBusy sends a run command back to the pool: it is redelivered,
// to this runner or another, after the consumer's backoff.
var errSlotsBusy = errors.New("all slots busy")

// job is one admission this runner holds a slot for.
type job struct {
	cmd      events.RunCommand
	stopc    chan struct{} // closed by stop
	once     sync.Once
	reason   string        // why it was stopped; written before stopc closes
	reported chan struct{} // closed once the first report is out (or given up)
}

func newJob(cmd events.RunCommand) *job {
	return &job{cmd: cmd, stopc: make(chan struct{}), reported: make(chan struct{})}
}

// stop asks the job to end; the first reason wins.
func (j *job) stop(reason string) {
	j.once.Do(func() {
		j.reason = reason
		close(j.stopc)
	})
}

// handleRun takes one run command: it starts the job and acks once the
// job's first report is out. The job goes on in its supervisor, whose
// reports last as long as rctx.
func (r *Runner) handleRun(ctx, rctx context.Context, e event.Event) error {
	var cmd events.RunCommand
	if err := e.DataAs(&cmd); err != nil {
		return bus.Permanent(fmt.Errorf("run command %s: %w", e.ID(), err))
	}
	if cmd.Pool != "" && cmd.Pool != r.cfg.Pool {
		return bus.Permanent(fmt.Errorf("run command %s is for pool %q, not %q", e.ID(), cmd.Pool, r.cfg.Pool))
	}
	j, err := r.claim(cmd)
	if err != nil || j == nil {
		return err
	}
	p, err := startProcess(cmd, r.cfg.ID, r.sb)
	go func() {
		defer r.supervisors.Done()
		r.supervise(rctx, j, p, err)
	}()
	select {
	case <-j.reported:
	case <-ctx.Done(): // the job runs here: ack anyway, its reports go on
	case <-r.stopping:
	}
	return nil
}

// claim takes a slot for cmd; the caller must start its supervisor. It
// returns nil, nil for an admission that runs here already or is over,
// and errSlotsBusy when no slot is free or the runner is stopping.
func (r *Runner) claim(cmd events.RunCommand) (*job, error) {
	ref := events.RunnerJobRef{WorkloadID: cmd.WorkloadID, Admission: cmd.Admission}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.jobs[ref]; ok {
		r.log.Info("run command repeated for a job running here; ignored", "workload", ref.WorkloadID, "admission", ref.Admission)
		return nil, nil
	}
	if r.over.has(ref) {
		r.log.Info("run command for an admission that is over; ignored", "workload", ref.WorkloadID, "admission", ref.Admission)
		return nil, nil
	}
	select {
	case <-r.stopping:
		return nil, errSlotsBusy
	default:
	}
	if !r.freeLocked() {
		return nil, errSlotsBusy
	}
	if first, err := r.spool.markRun(ref); err != nil {
		return nil, err
	} else if !first {
		r.log.Info("run command for an admission this runner started before; ignored", "workload", ref.WorkloadID, "admission", ref.Admission)
		r.over.add(ref)
		return nil, nil
	}
	j := newJob(cmd)
	r.jobs[ref] = j
	// Counted under mu, so Stop (which stops the jobs under mu) waits
	// for every job it could not see yet.
	r.supervisors.Add(1)
	r.notify()
	return j, nil
}

func (r *Runner) freeLocked() bool { return r.cfg.Slots == 0 || len(r.jobs) < r.cfg.Slots }

// supervise reports the job's start, waits for its end and reports that,
// then frees the slot. A job that could not start (startErr) is reported
// finished with exit code -1 and no start report.
func (r *Runner) supervise(ctx context.Context, j *job, p *process, startErr error) {
	ref := events.RunnerJobRef{WorkloadID: j.cmd.WorkloadID, Admission: j.cmd.Admission}
	log := r.log.With("workload", ref.WorkloadID, "admission", ref.Admission)
	defer r.release(ref)
	if startErr != nil {
		log.Warn("job could not start", "command", j.cmd.Job.Command, "error", startErr)
		now := time.Now().UTC()
		r.publish(ctx, eventID(ref, "finished"), events.TypeJobFinished, events.JobFinished{
			WorkloadID: ref.WorkloadID, Admission: ref.Admission, Runner: r.cfg.ID, ExitCode: -1,
			Error: startErr.Error(), StartedAt: now, At: now})
		close(j.reported)
		return
	}
	log.Info("job started", "pid", p.cmd.Process.Pid, "command", j.cmd.Job.Command)
	ended := make(chan struct{})
	var (
		ex       exit
		timedOut bool
	)
	go func() {
		defer close(ended)
		ex, timedOut = p.wait(deadline(j.cmd.MaxRuntimeMS), j.stopc)
	}()
	r.publish(ctx, eventID(ref, "started"), events.TypeJobStarted, events.JobStarted{
		WorkloadID: ref.WorkloadID, Admission: ref.Admission, Runner: r.cfg.ID, Pool: r.cfg.Pool,
		PID: p.cmd.Process.Pid, At: p.started.UTC()})
	close(j.reported)
	<-ended
	r.reportEnd(ctx, j, p, ex, timedOut)
}

// reportEnd publishes how the job ended. A job that was asked to stop
// is reported stopped, even if it happened to exit at the same moment;
// one that had ended by itself before (its start report was slow to get
// out, a full stream) is reported as it ended.
func (r *Runner) reportEnd(ctx context.Context, j *job, p *process, ex exit, timedOut bool) {
	ref := events.RunnerJobRef{WorkloadID: j.cmd.WorkloadID, Admission: j.cmd.Admission}
	dur := ex.ended.Sub(p.started).Milliseconds()
	started, at := p.started.UTC(), ex.ended.UTC()
	stopped := ex.stopped
	var out string
	if timedOut || !stopped {
		out = r.storeOutput(ctx, ref, p.out.String())
	}
	switch {
	case timedOut:
		r.log.Info("job timed out", "workload", ref.WorkloadID, "admission", ref.Admission, "max_runtime_ms", j.cmd.MaxRuntimeMS)
		r.publish(ctx, eventID(ref, "timedout"), events.TypeJobTimedOut, events.JobTimedOut{
			WorkloadID: ref.WorkloadID, Admission: ref.Admission, Runner: r.cfg.ID, DurationMS: dur,
			Output: out, StartedAt: started, At: at})
	case stopped:
		r.log.Info("job stopped", "workload", ref.WorkloadID, "admission", ref.Admission, "reason", j.reason)
		r.publish(ctx, eventID(ref, "stopped"), events.TypeJobStopped, events.JobStopped{
			WorkloadID: ref.WorkloadID, Admission: ref.Admission, Runner: r.cfg.ID, Reason: j.reason,
			DurationMS: dur, At: at})
	default:
		r.log.Info("job finished", "workload", ref.WorkloadID, "admission", ref.Admission, "exit_code", ex.code)
		r.publish(ctx, eventID(ref, "finished"), events.TypeJobFinished, events.JobFinished{
			WorkloadID: ref.WorkloadID, Admission: ref.Admission, Runner: r.cfg.ID, ExitCode: ex.code,
			DurationMS: dur, Output: out, StartedAt: started, At: at})
	}
}

// release frees the job's slot once its last report is out, so the
// scheduler hears of the end before the runner takes the next job.
func (r *Runner) release(ref events.RunnerJobRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.jobs, ref)
	r.over.add(ref)
	r.notify()
}

// deadline fires after the job's maximum runtime; never when there is none.
func deadline(maxRuntimeMS int64) <-chan time.Time {
	if maxRuntimeMS <= 0 {
		return nil
	}
	return time.After(time.Duration(maxRuntimeMS) * time.Millisecond)
}

// eventID is the deterministic id of a report, so that a report published
// twice is stored once.
func eventID(ref events.RunnerJobRef, what string) string {
	return fmt.Sprintf("%s/%d/%s", ref.WorkloadID, ref.Admission, what)
}
