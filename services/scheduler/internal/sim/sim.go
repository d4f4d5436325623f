package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Epoch is where virtual time starts unless Config.Start says otherwise.
var Epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// maxPasses bounds one settle; the core settles in two or three passes, so
// hitting it means the core keeps changing its mind at one instant.
const maxPasses = 100

// ErrNotSettled means the core kept admitting or preempting at one instant.
var ErrNotSettled = errors.New("the scheduler did not settle")

// Config is the world a simulation runs in.
type Config struct {
	Core  domain.Config
	Pools []domain.Pool
	Teams []domain.Team
	// Start is the virtual time the run begins at; zero means Epoch.
	Start time.Time
	// SampleEvery is the sampling period; zero records no samples.
	SampleEvery time.Duration
	// OnPass, if set, sees every scheduling pass after it was applied.
	OnPass func(at time.Time, d domain.Decisions)
}

// Job is a workload and how long it runs once admitted. SubmittedAt is its
// virtual arrival time.
type Job struct {
	domain.Workload
	Runtime time.Duration
	Fail    bool // ends failed rather than finished, cancelling its children
}

// Stats counts what the core did over a run.
type Stats struct {
	Passes      int
	Decisions   int // admissions, preemptions, cancellations and waits
	Admissions  int
	Preemptions int
}

// Sim runs the decision core over virtual time.
type Sim struct {
	cfg        Config
	state      *domain.State
	now        time.Time
	events     eventQueue
	jobs       map[string]*job
	records    []*Record
	children   map[string][]string
	pools      map[string]*poolView
	poolNames  []string
	nextSample time.Time
	samples    []Sample
	stats      Stats
}

type job struct {
	Job
	rec      *Record
	epoch    int // bumped by every admission and preemption: older finishes are stale
	eligible bool
	queued   bool
}

// New builds a simulator; the core validates pools and teams.
func New(cfg Config) (*Sim, error) {
	state, err := domain.NewState(cfg.Core, cfg.Pools, cfg.Teams)
	if err != nil {
		return nil, fmt.Errorf("new simulation: %w", err)
	}
	if cfg.Start.IsZero() {
		cfg.Start = Epoch
	}
	s := &Sim{cfg: cfg, state: state, now: cfg.Start, nextSample: cfg.Start,
		jobs: map[string]*job{}, children: map[string][]string{}}
	s.pools, s.poolNames = newPoolViews(cfg.Pools, cfg.Teams)
	return s, nil
}

// Add schedules jobs to arrive at their SubmittedAt, which may not be in
// the past. Jobs arriving at the same instant are submitted as one batch,
// so they may depend on each other.
func (s *Sim) Add(jobs ...Job) error {
	for _, j := range jobs {
		if j.SubmittedAt.Before(s.now) {
			return fmt.Errorf("add %s: arrives at %s, before now (%s)", j.ID, j.SubmittedAt, s.now)
		}
		if _, dup := s.jobs[j.ID]; dup {
			return fmt.Errorf("add %s: %w", j.ID, domain.ErrDuplicateID)
		}
		s.jobs[j.ID] = &job{Job: j}
		s.events.push(event{at: j.SubmittedAt, id: j.ID, arrival: true})
	}
	return nil
}

// RunUntil processes every event up to end, then samples up to end.
func (s *Sim) RunUntil(end time.Time) error {
	for s.events.Len() > 0 && !s.events.peek().at.After(end) {
		if err := s.step(); err != nil {
			return err
		}
	}
	s.sampleBefore(end.Add(1))
	if end.After(s.now) {
		s.now = end
	}
	return nil
}

// Run processes events until none is left: every job has ended or waits
// for capacity that will never free.
func (s *Sim) Run() error {
	for s.events.Len() > 0 {
		if err := s.step(); err != nil {
			return err
		}
	}
	s.sampleBefore(s.now.Add(1))
	return nil
}

// step handles the batch at the next event time and settles the core.
func (s *Sim) step() error {
	at := s.events.peek().at
	s.sampleBefore(at)
	s.now = at
	var arrivals []*job
	for s.events.Len() > 0 && s.events.peek().at.Equal(at) {
		ev := s.events.pop()
		j := s.jobs[ev.id]
		switch {
		case ev.arrival:
			arrivals = append(arrivals, j)
		case ev.epoch == j.epoch:
			if err := s.end(j); err != nil {
				return err
			}
		}
	}
	if err := s.arrive(arrivals); err != nil {
		return err
	}
	return s.settle()
}

func (s *Sim) arrive(js []*job) error {
	if len(js) == 0 {
		return nil
	}
	ws := make([]domain.Workload, len(js))
	for i, j := range js {
		ws[i] = j.Workload
	}
	if err := s.state.Submit(ws...); err != nil {
		return fmt.Errorf("at %s: %w", s.now, err)
	}
	for _, j := range js {
		j.rec = &Record{ID: j.ID, Team: j.Team, Pool: j.Pool, Submitted: s.now, Status: domain.StatusQueued}
		j.queued = true
		s.records = append(s.records, j.rec)
		for _, p := range j.DependsOn {
			s.children[p] = append(s.children[p], j.ID)
		}
		s.maybeEligible(j)
	}
	return nil
}

// end finishes or fails an admitted job whose runtime is up.
func (s *Sim) end(j *job) error {
	s.pools[j.Pool].add(j.Team, j.Demand, -1)
	j.rec.Ended = s.now
	if j.Fail {
		j.rec.Status = domain.StatusFailed
		return s.state.Fail(j.ID, "exit code 1")
	}
	j.rec.Status = domain.StatusFinished
	if err := s.state.Finish(j.ID, s.now); err != nil {
		return err
	}
	for _, c := range s.children[j.ID] {
		s.maybeEligible(s.jobs[c])
	}
	return nil
}

func (s *Sim) maybeEligible(j *job) {
	if j.eligible || !j.queued {
		return
	}
	for _, p := range j.DependsOn {
		if s.state.Status(p) != domain.StatusFinished {
			return
		}
	}
	j.eligible = true
	j.rec.Eligible = s.now
	j.rec.openWait(s.now)
	s.pools[j.Pool].teams[j.Team].backlog++
}

// settle runs Schedule and Apply at now until a pass changes nothing.
func (s *Sim) settle() error {
	for range maxPasses {
		d := domain.Schedule(s.state, s.now)
		if err := s.state.Apply(d, s.now); err != nil {
			return fmt.Errorf("at %s: %w", s.now, err)
		}
		s.stats.Passes++
		s.stats.Decisions += Decisions(d)
		s.record(d)
		if s.cfg.OnPass != nil {
			s.cfg.OnPass(s.now, d)
		}
		if len(d.Admit)+len(d.Preempt)+len(d.Cancel) == 0 {
			return nil
		}
	}
	return fmt.Errorf("at %s: %w", s.now, ErrNotSettled)
}

// record mirrors one applied pass: cancellations, preemptions, admissions.
func (s *Sim) record(d domain.Decisions) {
	for _, c := range d.Cancel {
		j := s.jobs[c.ID]
		s.leaveQueue(j)
		j.rec.Ended, j.rec.Status = s.now, domain.StatusFailed
		j.rec.closeWait(s.now)
	}
	for _, p := range d.Preempt {
		j := s.jobs[p.ID]
		s.pools[j.Pool].add(j.Team, j.Demand, -1)
		j.epoch++
		j.queued = true
		j.rec.Preemptions++
		j.rec.Status = domain.StatusQueued
		j.rec.openWait(s.now)
		s.pools[j.Pool].teams[j.Team].backlog++
		s.stats.Preemptions++
	}
	for _, id := range d.Admit {
		j := s.jobs[id]
		s.leaveQueue(j)
		s.pools[j.Pool].add(j.Team, j.Demand, 1)
		j.epoch++
		j.rec.Status = domain.StatusAdmitted
		j.rec.closeWait(s.now)
		if j.rec.Admitted.IsZero() {
			j.rec.Admitted = s.now
		}
		s.events.push(event{at: s.now.Add(j.Runtime), id: id, epoch: j.epoch})
		s.stats.Admissions++
	}
}

func (s *Sim) leaveQueue(j *job) {
	if j.queued && j.eligible {
		s.pools[j.Pool].teams[j.Team].backlog--
	}
	j.queued = false
}

// Now is the current virtual time.
func (s *Sim) Now() time.Time { return s.now }

// State is the core's state. Read it; changing it behind the simulator's
// back desynchronises the records.
func (s *Sim) State() *domain.State { return s.state }

// Record returns the record of an arrived job, or nil.
func (s *Sim) Record(id string) *Record {
	if j := s.jobs[id]; j != nil {
		return j.rec
	}
	return nil
}

// Records lists the arrived jobs in arrival order.
func (s *Sim) Records() []*Record { return s.records }

// Samples lists the samples, by time then pool name.
func (s *Sim) Samples() []Sample { return s.samples }

// Stats says what the core did so far.
func (s *Sim) Stats() Stats { return s.stats }
