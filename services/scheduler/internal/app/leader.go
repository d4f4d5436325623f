package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Options tune the leader.
type Options struct {
	// Tick is how often a pass runs when nothing happens, so that time
	// alone (the starvation bound, minimum runtimes) can change decisions,
	// and how often runners are checked.
	Tick time.Duration
	// RunnerTimeout is how long a runner may go without a heartbeat
	// before the admissions of its jobs are reclaimed.
	RunnerTimeout time.Duration
	// MaxBatch bounds the inputs handled before a pass.
	MaxBatch int
	// Metrics records admissions, queue depth and pass time; nil: none.
	Metrics *Metrics
	// Log is the scheduler's log, which the leader rebuilds from and
	// appends to. Required.
	Log EventLog
	// Outputs reads the output runners stored; nil: the API shows the
	// tail the log keeps.
	Outputs OutputReader
	// Snapshots keeps the leader's snapshots; nil: none, every rebuild
	// replays the whole log.
	Snapshots SnapshotStore
	// SnapshotEvery is how often the leader writes a snapshot when the
	// log has grown; it also writes one when it stops cleanly.
	SnapshotEvery time.Duration
	// FinishedRetention is how long an ended workload stays in memory
	// (and in snapshots) for the API and its children; 0: for ever.
	FinishedRetention time.Duration
}

// Leader owns the state while this instance holds the lease: it takes
// inputs (commands, reports, API calls) one batch at a time, appends what
// they and the following scheduling pass decide to the log, and only then
// answers them.
type Leader struct {
	opts     Options
	cfg      SchedulerConfig
	bus      *bus.Bus
	log      Appender
	core     *Core
	runners  RunnerClock
	instance string
	term     uint64
	logger   *slog.Logger
	inputs   chan *input
	dispatch chan events.RunCommand
	started  time.Time
	now      func() time.Time

	held map[string]*heldRun // by preemptor, until its victims end
	seq  uint64              // events emitted in this term
	// snapSeq and snapAt are the log sequence and time of the last
	// snapshot; saving is true while one is being written.
	snapSeq uint64
	snapAt  time.Time
	saving  chan struct{}
	kept    time.Time // the last housekeeping
	// queueCounted is when the queue gauge was last set.
	queueCounted time.Time
	wg           sync.WaitGroup
	stopped      chan struct{} // closed when Run returns
}

// RunnerClock says when a runner was last heard of.
type RunnerClock interface {
	LastSeen(runner string) (time.Time, bool)
}

type input struct {
	do   func(tx *tx) (any, error)
	res  any
	err  error
	done chan struct{}
}

// tx collects the events of one batch; each is applied to the state as it
// is emitted, so later inputs of the batch see it.
type tx struct {
	l       *Leader
	ctx     context.Context
	now     time.Time
	msgs    []*nats.Msg // the emitted events, encoded for the log
	runs    []queuedRun
	changed bool
	// again: the pass admitted work and stopped; the admissions may make
	// another decision possible (a preemption, mostly), which the next
	// pass finds.
	again    bool
	admitted []admittedWork // counted in Metrics once appended
	inputs   []*input       // answered once the batch is appended
	flushed  chan struct{}  // a committer's flush mark: closed when it is reached
}

// emit validates an event, applies it and keeps it for the append.
func (t *tx) emit(eventType string, data any) error {
	t.l.seq++
	id := "scheduler/" + strconv.FormatUint(t.l.term, 10) + "/" + strconv.FormatUint(t.l.seq, 10)
	e, err := bus.NewEvent(id, "pave/scheduler", eventType, data)
	if err != nil {
		return err
	}
	if w := eventWorkload(e.Data()); w != "" {
		// Consumers keep order per NATS subject and CloudEvent subject:
		// without one, every workload's admissions (say) share a key and
		// are handled one after the other.
		e.SetSubject(w)
	}
	msg, err := t.l.bus.Message(t.ctx, e) // validated and encoded once, here
	if err != nil {
		return err
	}
	if err := t.l.core.Apply(e); err != nil {
		return err
	}
	t.msgs = append(t.msgs, msg)
	if eventType != events.TypeWorkloadWaiting && eventType != events.TypeSchedulerLeadership {
		t.changed = true
	}
	return nil
}

// eventWorkload is the workload an event's data is about ("" for none).
func eventWorkload(data []byte) string {
	var d struct {
		WorkloadID string `json:"workload_id"`
		Workload   struct {
			ID string `json:"id"`
		} `json:"workload"`
	}
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	if d.WorkloadID != "" {
		return d.WorkloadID
	}
	return d.Workload.ID
}

// Rebuild restores the latest snapshot, replays the log after it (all of
// it without a snapshot) into the state and returns a leader ready to run
// with it, and how many log events it read.
func Rebuild(ctx context.Context, b *bus.Bus, cfg SchedulerConfig, opts Options, instance string, term uint64,
	runners RunnerClock, logger *slog.Logger) (*Leader, int64, error) {
	core, from := restore(ctx, cfg, opts.Snapshots, logger)
	apply := func(_ uint64, e event.Event) error {
		if err := core.Apply(e); err != nil {
			// A log event that no longer applies is a bug; keep going so
			// that one bad event cannot stop the scheduler for good.
			logger.Error("scheduler log: event does not apply", "id", e.ID(), "type", e.Type(), "error", err)
		}
		return nil
	}
	if opts.Log == nil {
		return nil, 0, errors.New("scheduler: no log to rebuild from")
	}
	last, n, err := opts.Log.Replay(ctx, from, apply)
	if errors.Is(err, ErrSnapshotAhead) {
		logger.Warn("scheduler: the snapshot is ahead of the log; replaying the whole log", "error", err)
		core, from = NewCore(cfg.Core), 0
		last, n, err = opts.Log.Replay(ctx, 0, apply)
	}
	if err != nil {
		return nil, 0, err
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	l := &Leader{opts: opts, cfg: cfg, bus: b, log: opts.Log.Appender(last), core: core,
		runners: runners, instance: instance, term: term, logger: logger, inputs: make(chan *input, 4096),
		dispatch: make(chan events.RunCommand, 4096), stopped: make(chan struct{}), now: func() time.Time { return time.Now().UTC() },
		held: map[string]*heldRun{}, snapSeq: from, saving: make(chan struct{}, 1)}
	l.snapAt = l.now()
	return l, n, nil
}

// restore is the state of the latest snapshot and its sequence, or an
// empty state and 0 when there is none or it cannot be read.
func restore(ctx context.Context, cfg SchedulerConfig, store SnapshotStore, logger *slog.Logger) (*Core, uint64) {
	if store == nil {
		return NewCore(cfg.Core), 0
	}
	raw, ok, err := store.Load(ctx)
	if err != nil {
		logger.Warn("scheduler: snapshot not read; replaying the whole log", "error", err)
	}
	if !ok {
		return NewCore(cfg.Core), 0
	}
	var snap Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil || snap.Version != SnapshotVersion {
		logger.Warn("scheduler: snapshot not understood; replaying the whole log", "error", err, "version", snap.Version)
		return NewCore(cfg.Core), 0
	}
	core := NewCore(cfg.Core)
	if err := core.Restore(snap); err != nil {
		logger.Error("scheduler: snapshot does not apply; replaying the whole log", "error", err)
		return NewCore(cfg.Core), 0
	}
	return core, snap.LastSeq
}

// Run configures the pools and teams from the file, announces the term,
// re-dispatches admitted jobs no runner has started, and serves inputs
// until ctx ends or the log fences it off (ErrFenced).
func (l *Leader) Run(ctx context.Context, replayed int64) error {
	l.started = l.now()
	dctx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	for range dispatchers {
		l.wg.Go(func() { l.dispatcher(dctx) })
	}
	defer func() {
		close(l.stopped)
		l.failPending(ErrNotLeader)
		close(l.dispatch)
		l.wg.Wait()
		stopDispatch()
	}()
	t := l.newTx(ctx)
	if err := l.configure(t); err != nil {
		return err
	}
	if err := t.emit(events.TypeSchedulerLeadership, events.LeaderElected{
		Instance: l.instance, Term: l.term, Replayed: replayed, At: t.now,
	}); err != nil {
		return err
	}
	for _, m := range l.core.metas {
		if m.outcome == "" && m.spec.Kind == events.WorkloadKindJob && m.admission > 0 && m.runner == "" &&
			l.core.state.Status(m.spec.ID) == domain.StatusAdmitted {
			t.dispatch(runCommand(m))
		}
	}
	if err := l.commit(t); err != nil {
		return err
	}
	err := l.loop(ctx)
	if err == nil {
		l.snapshotAtStop(ctx)
	}
	return err
}

// Do hands fn to the leader's loop and waits for its result, which is
// given only once what fn emitted is in the log.
func (l *Leader) Do(ctx context.Context, fn func(tx *tx) (any, error)) (any, error) {
	in := &input{do: fn, done: make(chan struct{})}
	select {
	case l.inputs <- in:
	case <-l.stopped:
		return nil, ErrNotLeader
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-in.done:
		return in.res, in.err
	case <-l.stopped:
		// The loop may still answer it; if not, it is not leading.
		select {
		case <-in.done:
			return in.res, in.err
		default:
			return nil, ErrNotLeader
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *Leader) newTx(ctx context.Context) *tx {
	return &tx{l: l, ctx: ctx, now: l.now()}
}

func (l *Leader) loop(ctx context.Context) (err error) {
	tick := time.NewTicker(l.opts.Tick)
	defer tick.Stop()
	c := l.startCommitter()
	defer func() {
		if serr := c.stop(); err == nil {
			err = serr
		}
	}()
	again := false
	for {
		// One batch waits for the committer at most: what comes in
		// meanwhile is decided in one pass once it is handed over,
		// rather than in a pass of its own whose result would wait too.
		if err := c.handPending(); err != nil {
			return err
		}
		var batch []*input
		timed := false
		if again {
			// Another pass is due: inputs that are waiting come along, and
			// without any the pass runs alone.
			select {
			case in := <-l.inputs:
				batch = append(batch, in)
			case <-ctx.Done():
				return nil
			case err := <-c.failed:
				return c.fail(err)
			default:
			}
		} else {
			select {
			case in := <-l.inputs:
				batch = append(batch, in)
			case <-tick.C:
				timed = true
			case <-ctx.Done():
				return nil
			case err := <-c.failed:
				return c.fail(err)
			}
		}
	drain:
		for len(batch) < l.opts.MaxBatch {
			select {
			case in := <-l.inputs:
				batch = append(batch, in)
			default:
				break drain
			}
		}
		t := l.newTx(ctx)
		t.inputs = batch
		for _, in := range batch {
			in.res, in.err = in.do(t)
		}
		if timed {
			l.reclaimLostRunners(t)
		}
		if len(l.held) > 0 {
			t.releaseOverdue()
		}
		if t.changed || timed || again {
			if err := l.pass(t); err != nil {
				l.release(batch, err)
				return err
			}
		}
		again = t.again
		if err := c.add(t); err != nil {
			return err
		}
		// Also under a steady stream of inputs, where the tick may
		// never win the select.
		if timed || t.now.Sub(l.kept) >= l.opts.Tick {
			l.kept = t.now
			if err := l.housekeep(ctx, c, t.now); err != nil {
				return err
			}
		}
	}
}

// housekeep forgets workloads that ended before the retention window and
// writes a snapshot when one is due. It runs in the loop, between
// batches; a snapshot waits until the committer has appended every batch
// handed to it, so that the state is exactly the log up to log.Last().
func (l *Leader) housekeep(ctx context.Context, c *committer, now time.Time) error {
	if l.opts.FinishedRetention > 0 {
		if n := l.core.Forget(now.Add(-l.opts.FinishedRetention)); n > 0 {
			l.logger.Debug("scheduler: forgot ended workloads", "count", n)
		}
	}
	if l.opts.Snapshots == nil || l.opts.SnapshotEvery <= 0 || now.Sub(l.snapAt) < l.opts.SnapshotEvery {
		return nil
	}
	if err := c.flush(); err != nil {
		return err
	}
	if l.log.Last() == l.snapSeq {
		return nil
	}
	select {
	case l.saving <- struct{}{}:
	default:
		return nil // the last one is still being written
	}
	raw, seq, err := l.encodeSnapshot(now)
	if err != nil {
		<-l.saving
		l.logger.Error("scheduler: snapshot not taken", "error", err)
		return nil
	}
	l.snapAt = now
	l.wg.Go(func() {
		defer func() { <-l.saving }()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := l.opts.Snapshots.Save(sctx, raw); err != nil {
			l.logger.Warn("scheduler: snapshot not written; the next one will be", "seq", seq, "error", err)
			return
		}
		l.logger.Debug("scheduler: snapshot written", "seq", seq, "bytes", len(raw))
	})
	l.snapSeq = seq
	return nil
}

func (l *Leader) encodeSnapshot(now time.Time) ([]byte, uint64, error) {
	seq := l.log.Last()
	snap, err := l.core.Snapshot(seq, now)
	if err != nil {
		return nil, 0, err
	}
	raw, err := json.Marshal(snap)
	return raw, seq, err
}

// snapshotAtStop writes a snapshot when the leader stops cleanly, so that
// the next one reads only what comes after.
func (l *Leader) snapshotAtStop(ctx context.Context) {
	if l.opts.Snapshots == nil || l.log.Last() == l.snapSeq {
		return
	}
	l.saving <- struct{}{} // wait for a periodic one in flight
	defer func() { <-l.saving }()
	raw, seq, err := l.encodeSnapshot(l.now())
	if err == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = l.opts.Snapshots.Save(sctx, raw)
		cancel()
	}
	if err != nil {
		l.logger.Warn("scheduler: snapshot at stop not written", "error", err)
		return
	}
	l.snapSeq = seq
	l.logger.Info("scheduler: snapshot written at stop", "seq", seq, "bytes", len(raw))
}

func (l *Leader) release(batch []*input, err error) {
	for _, in := range batch {
		if err != nil {
			in.res, in.err = nil, err
		}
		close(in.done)
	}
}

func (l *Leader) failPending(err error) {
	for {
		select {
		case in := <-l.inputs:
			in.err = err
			close(in.done)
		default:
			return
		}
	}
}

// pass runs the decision core, emits its decisions, and tells each queued
// environment why it waits. Preemptions and cancellations can free room
// at once, so the core runs again after them; after admissions alone the
// pass stops and asks for another (tx.again), which the loop runs with the
// next inputs or straight away when there are none: one call of the core
// per batch under load, where each call weighs every queued workload.
func (l *Leader) pass(t *tx) error {
	defer l.opts.Metrics.timePass(time.Now())
	c := l.core
	var d domain.Decisions
	for range 8 {
		d = domain.Schedule(c.state, t.now)
		for _, x := range d.Cancel {
			m := c.metas[x.ID]
			if err := t.emit(events.TypeWorkloadCancelled, events.WorkloadCancelled{
				WorkloadID: x.ID, Team: m.spec.Team, Reason: x.Reason, Saga: m.saga, At: t.now}); err != nil {
				return err
			}
		}
		held := t.holdForVictims(d.Preempt)
		for _, x := range d.Preempt {
			m := c.metas[x.ID]
			if err := t.emit(events.TypeWorkloadPreempted, events.WorkloadPreempted{
				WorkloadID: x.ID, Team: m.spec.Team, Admission: m.admission, By: x.By, Reason: x.Reason, At: t.now}); err != nil {
				return err
			}
		}
		for _, id := range d.Admit {
			info, _ := c.state.Workload(id)
			m := c.metas[id]
			if err := t.emit(events.TypeWorkloadAdmitted, events.WorkloadAdmitted{
				WorkloadID: id, Team: m.spec.Team, Pool: m.spec.Pool, Kind: m.spec.Kind,
				Demand: map[string]int64(info.Workload.Demand), Admission: m.admission + 1, Saga: m.saga,
				WaitedMS: t.now.Sub(info.Since).Milliseconds(), At: t.now}); err != nil {
				return err
			}
			t.admitted = append(t.admitted, admittedWork{m.spec.Team, m.spec.Pool, m.spec.Kind, t.now.Sub(info.Since)})
			switch {
			case m.spec.Kind != events.WorkloadKindJob:
			case held[id]:
				l.held[id].run = runCommand(m)
			default:
				t.dispatch(runCommand(m))
			}
		}
		t.again = len(d.Admit)+len(d.Preempt)+len(d.Cancel) > 0
		if len(d.Preempt)+len(d.Cancel) == 0 {
			break
		}
	}
	// The queue gauge is read every few seconds; counting it on every
	// pass (a map lookup per queued workload) cost a fifth of the pass
	// under a deep queue. Once a tick keeps it a tick or two behind.
	if t.now.Sub(l.queueCounted) >= l.opts.Tick {
		l.queueCounted = t.now
		l.opts.Metrics.setQueue(d.Waiting, c.metas)
	}
	c.waits = make(map[string]string, len(d.Waiting))
	for _, w := range d.Waiting {
		c.waits[w.ID] = w.Reason
		m := c.metas[w.ID]
		if m == nil || m.spec.Kind != events.WorkloadKindEnvironment || m.waitSent == w.Reason {
			continue
		}
		if err := t.emit(events.TypeWorkloadWaiting, events.WorkloadWaiting{
			WorkloadID: w.ID, Team: m.spec.Team, Kind: m.spec.Kind, Reason: w.Reason,
			Position: c.state.Position(w.ID), Saga: m.saga, At: t.now}); err != nil {
			return err
		}
	}
	return nil
}

func runCommand(m *meta) events.RunCommand {
	job := events.JobSpec{}
	if m.spec.Job != nil {
		job = *m.spec.Job
	}
	return events.RunCommand{WorkloadID: m.spec.ID, Admission: m.admission, Team: m.spec.Team, Pool: m.spec.Pool,
		Job: job, MaxRuntimeMS: m.spec.MaxRuntimeMS}
}

// dispatchers is how many run commands are published at once.
const dispatchers = 16

// dispatcher hands admitted jobs to the runners of their pool. The id is
// derived from the admission, so a dispatch repeated after a failover is
// deduplicated by the stream.
//
// Several dispatchers publish at once: each publish waits for its ack (an
// fsync), and admissions come in bursts when capacity frees up.
func (l *Leader) dispatcher(ctx context.Context) {
	for r := range l.dispatch {
		e, err := bus.NewEvent(fmt.Sprintf("%s/run/%d", r.WorkloadID, r.Admission), "pave/scheduler", events.TypeRunCommand, r)
		if err == nil {
			// The runner's consumer keeps order per CloudEvent subject
			// and runs different subjects in parallel: without one, all
			// of a pool's run commands share the NATS subject and start
			// one after the other.
			e.SetSubject(r.WorkloadID)
			err = l.bus.PublishOn(ctx, events.RunnerSubjectRun+r.Pool, e)
		}
		if err != nil {
			l.logger.Error("dispatch job", "workload", r.WorkloadID, "admission", r.Admission, "error", err)
		}
	}
}

// reclaimLostRunners requeues the jobs of runners that stopped
// heartbeating. A runner never heard of since this leader started gets
// the same grace as one that just went quiet.
func (l *Leader) reclaimLostRunners(t *tx) {
	for _, m := range l.core.metas {
		if m.outcome != "" || m.runner == "" {
			continue
		}
		seen, ok := l.runners.LastSeen(m.runner)
		if !ok {
			seen = l.started
		}
		if t.now.Sub(seen) < l.opts.RunnerTimeout {
			continue
		}
		reason := fmt.Sprintf("runner %s sent no heartbeat for %s; the job is queued again", m.runner, t.now.Sub(seen).Round(time.Second))
		if err := t.emit(events.TypeWorkloadRequeued, events.WorkloadRequeued{
			WorkloadID: m.spec.ID, Admission: m.admission, Reason: reason, At: t.now}); err != nil {
			l.logger.Error("requeue", "workload", m.spec.ID, "error", err)
		}
	}
}
