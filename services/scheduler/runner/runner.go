package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/kv"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/scheduler/internal/adapters"
)

// RunnersBucket is the key-value bucket of runner heartbeats, shared with
// the scheduler, which reclaims the jobs of a runner that goes quiet.
const RunnersBucket = adapters.RunnersBucket

// Source is the CloudEvents source of the runner's reports.
const Source = "pave/runner"

// ErrStarted is returned by Start when the runner was started before: a
// runner runs once.
var ErrStarted = errors.New("runner: already started")

// Runner runs the job workloads the scheduler dispatches to its pool.
type Runner struct {
	bus *bus.Bus
	so  bus.StreamOptions
	cfg Config
	log *slog.Logger
	mw  []bus.Middleware

	mu sync.Mutex
	// jobs are the admissions this runner holds a slot for: from the
	// run command until the job's last report is out.
	jobs map[events.RunnerJobRef]*job
	// over are admissions that ended here or were stopped by the
	// scheduler, so that a late or repeated run command is ignored.
	over *recent
	// changed wakes the intake when a slot is taken or freed.
	changed chan struct{}
	state   int

	sb       *sandbox
	spool    *spool
	kv       jetstream.KeyValue
	outputs  jetstream.ObjectStore
	watch    jetstream.ConsumeContext
	sub      *bus.Router   // the intake's while it runs; guarded by mu
	stopping chan struct{} // closed when Stop begins

	rt            *service.Runtime // the intake and the stop order
	stopHeartbeat context.CancelFunc
	stopReports   context.CancelFunc
	heartbeats    sync.WaitGroup
	supervisors   sync.WaitGroup // one per job
	resends       sync.WaitGroup // the spool's reports of an earlier run
}

const (
	stateNew = iota
	stateStarting
	stateStarted
	stateStopped
)

// Option adjusts a Runner.
type Option func(*Runner)

// WithMiddleware wraps the run command handler, e.g. with the platform's
// logging, tracing and metrics.
func WithMiddleware(mw ...bus.Middleware) Option {
	return func(r *Runner) { r.mw = append(r.mw, mw...) }
}

// New builds a runner. cfg's ID and Heartbeat get their defaults when
// zero; then cfg must be valid.
func New(b *bus.Bus, so bus.StreamOptions, cfg Config, log *slog.Logger, opts ...Option) (*Runner, error) {
	if b == nil {
		return nil, errors.New("runner: a bus is required")
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{
		bus: b, so: so, cfg: cfg, log: log.With("runner", cfg.ID, "pool", cfg.Pool),
		jobs: map[events.RunnerJobRef]*job{}, over: newRecent(4096),
		changed: make(chan struct{}, 1), stopping: make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Config is the runner's configuration with its defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// Start declares the streams and the heartbeat bucket, writes the first
// heartbeat, starts watching the scheduler's stop events and begins
// taking run commands. It only launches: the work goes on until Stop.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	state := r.state
	if state == stateNew {
		r.state = stateStarting
	}
	r.mu.Unlock()
	if state != stateNew {
		return fmt.Errorf("start runner %s: %w", r.cfg.ID, ErrStarted)
	}
	err := r.start(ctx)
	r.mu.Lock()
	r.state = stateStarted
	if err != nil {
		r.state = stateNew
	}
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("start runner %s: %w", r.cfg.ID, err)
	}
	r.log.Info("runner started", "slots", r.cfg.Slots, "job_user", r.sb.user, "work_dir", r.sb.workDir)
	return nil
}

func (r *Runner) start(ctx context.Context) error {
	sb, err := newSandbox(r.cfg, r.log)
	if err != nil {
		return err
	}
	r.sb = sb
	js := r.bus.JetStream()
	streams := append(bus.ServiceStreams("runner", r.so), bus.ServiceStreams("scheduler", r.so)...)
	if err := bus.EnsureStreams(ctx, js, streams...); err != nil {
		return err
	}
	// The spool belongs to one platform: its run commands' stream, known
	// by when it was made. A runner pointed at a new NATS (a fresh dev
	// platform, a benchmark) starts with an empty spool.
	st, err := js.Stream(ctx, "CMD_RUNNER")
	if err != nil {
		return fmt.Errorf("run command stream: %w", err)
	}
	sweepSpools(r.cfg.SpoolDir, ranRetention)
	dir := filepath.Join(r.cfg.SpoolDir, strconv.FormatInt(st.CachedInfo().Created.UnixNano(), 10))
	if r.spool, err = openSpool(dir); err != nil {
		return err
	}
	left, err := r.spool.pending()
	if err != nil {
		return err
	}
	beats, err := kv.Declare(ctx, js, adapters.RunnersBucketSpec(r.so.Replicas))
	if err != nil {
		return fmt.Errorf("heartbeat bucket: %w", err)
	}
	r.kv = beats
	cfg := adapters.JobOutputConfig(r.so.Replicas, r.cfg.Output.TTL, r.cfg.Output.MaxBytes)
	if r.outputs, err = js.CreateOrUpdateObjectStore(ctx, cfg); err != nil {
		return fmt.Errorf("job output bucket: %w", err)
	}
	if err := r.beat(ctx); err != nil {
		return err
	}
	if r.watch, err = r.watchScheduler(ctx); err != nil {
		_ = beats.Delete(ctx, r.cfg.ID)
		return err
	}
	// Reports outlive the intake: they go on until Stop's ctx ends. The
	// heartbeat goes on until the jobs are stopped and reported, so the
	// scheduler does not reclaim them before it hears of them.
	var hctx, rctx context.Context
	rctx, r.stopReports = context.WithCancel(context.Background())
	hctx, r.stopHeartbeat = context.WithCancel(context.Background())
	r.resends.Go(func() { r.resend(rctx, left) })
	r.heartbeats.Go(func() { r.heartbeatLoop(hctx) })

	// The runner's parts on the platform's service runtime, which stops
	// them in its fixed order: the intake (a task) first, then the
	// closers, last registered first. The intake owns its router rather
	// than the runtime's: it subscribes only while a slot is free.
	rt := service.NewRuntime(r.bus, r.mw, r.log)
	rt.OnStop(func(ctx context.Context) error { // 5: goodbye
		if err := r.kv.Delete(ctx, r.cfg.ID); err != nil {
			return fmt.Errorf("delete heartbeat %s: %w", r.cfg.ID, err)
		}
		return nil
	})
	rt.OnStop(func(context.Context) error { // 4: the heartbeat
		r.stopHeartbeat()
		r.heartbeats.Wait()
		return nil
	})
	rt.OnStop(func(ctx context.Context) error { // 3: jobs stopped and reported
		err := r.stopJobs(ctx)
		r.resends.Wait() // stopJobs ended the reports' context
		r.spool.close()
		return err
	})
	rt.OnStop(func(ctx context.Context) error { // 2: the scheduler's stop events
		r.watch.Stop()
		select {
		case <-r.watch.Closed():
		case <-ctx.Done():
		}
		return nil
	})
	rt.OnStop(func(ctx context.Context) error { // 1: run commands drained
		if sub := r.takeSub(); sub != nil {
			return sub.Stop(ctx)
		}
		return nil
	})
	rt.Go(func(ctx context.Context) { r.intake(ctx, rctx) })
	r.rt = rt
	if err := rt.Start(ctx); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pauseTimeout)
		defer cancel()
		return errors.Join(err, rt.Stop(sctx))
	}
	return nil
}

// Stop takes no more work, kills the running jobs and reports them
// stopped, then says goodbye by deleting the heartbeat key. Reports that
// cannot be published by the time ctx ends are given up.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	state := r.state
	r.state = stateStopped
	r.mu.Unlock()
	if state != stateStarted {
		return nil
	}
	close(r.stopping)
	err := r.rt.Stop(ctx)
	r.log.Info("runner stopped")
	return err
}

// Running lists the admissions this runner holds, by workload and
// admission.
func (r *Runner) Running() []events.RunnerJobRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runningLocked()
}

func (r *Runner) runningLocked() []events.RunnerJobRef {
	refs := make([]events.RunnerJobRef, 0, len(r.jobs))
	for ref := range r.jobs {
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b events.RunnerJobRef) int {
		return cmp.Or(cmp.Compare(a.WorkloadID, b.WorkloadID), cmp.Compare(a.Admission, b.Admission))
	})
	return refs
}

// stopJobs stops every job and waits for the reports, giving up those
// still unpublished when ctx ends. The heartbeat goes on meanwhile, so the
// scheduler does not reclaim the jobs before it hears of them.
func (r *Runner) stopJobs(ctx context.Context) error {
	defer r.stopReports()
	r.stopAll("runner stopping")
	done := make(chan struct{})
	go func() { r.supervisors.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		r.stopReports()
		<-done // the processes are gone within killGrace and outputGrace
		return fmt.Errorf("report stopped jobs: %w", ctx.Err())
	}
}

// stopAll stops every job this runner holds.
func (r *Runner) stopAll(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.jobs {
		j.stop(reason)
	}
}

// stopMatching stops the jobs of workload id (of one admission when
// admission > 0) and remembers the admission as over.
func (r *Runner) stopMatching(id string, admission int, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if admission > 0 {
		r.over.add(events.RunnerJobRef{WorkloadID: id, Admission: admission})
	}
	for ref, j := range r.jobs {
		if ref.WorkloadID == id && (admission <= 0 || ref.Admission == admission) {
			r.log.Info("stopping job", "workload", id, "admission", ref.Admission, "reason", reason)
			j.stop(reason)
		}
	}
}

func (r *Runner) takeSub() *bus.Router {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sub
	r.sub = nil
	return s
}

// notify wakes the intake; the channel holds one wake-up.
func (r *Runner) notify() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// recent is a bounded set that forgets its oldest entries first.
type recent struct {
	max   int
	set   map[events.RunnerJobRef]struct{}
	order []events.RunnerJobRef
}

func newRecent(max int) *recent {
	return &recent{max: max, set: map[events.RunnerJobRef]struct{}{}}
}

func (s *recent) add(ref events.RunnerJobRef) {
	if _, ok := s.set[ref]; ok {
		return
	}
	if len(s.order) == s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	s.set[ref] = struct{}{}
	s.order = append(s.order, ref)
}

func (s *recent) has(ref events.RunnerJobRef) bool {
	_, ok := s.set[ref]
	return ok
}
