package app

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Errors the ports map to answers.
var (
	ErrNotLeader = errors.New("this scheduler instance is not the leader; try again")
	ErrNotFound  = errors.New("no such workload")
	ErrConflict  = errors.New("conflict")
	// ErrLogFull: the log refuses appends; nothing was changed.
	ErrLogFull = errors.New("the scheduler's log is full; nothing was changed")
)

// InputError is bad input: Field names it as the API spells it.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

var workloadID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// configure appends the file's pools and teams that differ from the last
// configuration the file gave.
func (l *Leader) configure(t *tx) error {
	for _, p := range l.cfg.Pools {
		d := events.PoolConfigured{Name: p.Name, Capacity: map[string]int64(p.Capacity), Source: SourceFile, At: t.now}
		if l.core.fileConfig["pool/"+p.Name] == poolKey(d) {
			continue
		}
		if err := t.emit(events.TypePoolConfigured, d); err != nil {
			return fmt.Errorf("configure pool %s: %w", p.Name, err)
		}
	}
	for _, tm := range l.cfg.Teams {
		d := teamEvent(tm, SourceFile, t.now)
		if l.core.fileConfig["team/"+tm.Name] == teamKey(d) {
			continue
		}
		if err := t.emit(events.TypeTeamConfigured, d); err != nil {
			return fmt.Errorf("configure team %s: %w", tm.Name, err)
		}
	}
	return nil
}

// Submitted is the answer to a submit.
type Submitted struct {
	View View
	// Existing is true when the id was already known: nothing new was
	// queued.
	Existing bool
}

// Submit queues a workload and answers with its view. A known id is
// answered with its current state, and a saga's repeated step gets the
// outcome again.
func (t *tx) Submit(cmd events.SubmitCommand) (Submitted, error) {
	existing, err := t.queue(cmd)
	if !existing && err != nil {
		return Submitted{}, err
	}
	c := t.l.core
	return Submitted{View: c.view(c.metas[cmd.Workload.ID]), Existing: existing}, err
}

// queue is Submit without the view, which costs a walk of the queue (the
// workload's position): a submit command has no one to show it to.
func (t *tx) queue(cmd events.SubmitCommand) (existing bool, err error) {
	c, spec := t.l.core, cmd.Workload
	if m := c.metas[spec.ID]; m != nil {
		return true, t.answerAgain(m, cmd.Saga)
	}
	if err := t.checkSpec(spec); err != nil {
		return false, t.reject(spec, cmd.Saga, err)
	}
	if _, ok := c.state.Team(spec.Team); !ok {
		if d, ok := t.l.cfg.DefaultTeamFor(spec.Team); ok {
			if err := t.emit(events.TypeTeamConfigured, teamEvent(d, SourceDefault, t.now)); err != nil {
				return false, err
			}
		}
	}
	err = t.emit(events.TypeWorkloadSubmitted, events.WorkloadSubmitted{
		Workload: spec, Saga: cmd.Saga, SubmittedBy: cmd.SubmittedBy, SubmittedAt: t.now})
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return false, t.reject(spec, cmd.Saga, &InputError{Field: apiField(fe.Field), Message: fe.Err.Error() + detail(fe.Detail)})
	}
	return false, err
}

// answerAgain repeats, for a saga's retried step, the outcome it waits for.
func (t *tx) answerAgain(m *meta, saga *events.Saga) error {
	if saga == nil {
		return nil
	}
	c := t.l.core
	switch {
	case m.outcome != "":
		return t.emit(events.TypeWorkloadRejected, events.WorkloadRejected{WorkloadID: m.spec.ID, Team: m.spec.Team,
			Field: "workload.id", Reason: "the workload has already ended (" + m.outcome + ")", Saga: saga, At: t.now})
	case c.state.Status(m.spec.ID) == domain.StatusAdmitted:
		info, _ := c.state.Workload(m.spec.ID)
		return t.emit(events.TypeWorkloadAdmitted, events.WorkloadAdmitted{WorkloadID: m.spec.ID, Team: m.spec.Team,
			Pool: m.spec.Pool, Kind: m.spec.Kind, Demand: map[string]int64(info.Workload.Demand), Admission: m.admission,
			Saga: saga, At: t.now})
	default:
		return t.emit(events.TypeWorkloadWaiting, events.WorkloadWaiting{WorkloadID: m.spec.ID, Team: m.spec.Team,
			Kind: m.spec.Kind, Reason: c.reason(m), Position: c.state.Position(m.spec.ID), Saga: saga, At: t.now})
	}
}

// reject records a refused submit (so a saga hears of it) and returns err.
func (t *tx) reject(spec events.WorkloadSpec, saga *events.Saga, err *InputError) error {
	if saga != nil && workloadID.MatchString(spec.ID) {
		if e := t.emit(events.TypeWorkloadRejected, events.WorkloadRejected{WorkloadID: spec.ID, Team: spec.Team,
			Field: err.Field, Reason: err.Message, Saga: saga, At: t.now}); e != nil {
			return e
		}
	}
	return err
}

// checkSpec finds what the log's schema and the core would refuse, and
// names the field as the API spells it.
func (t *tx) checkSpec(s events.WorkloadSpec) *InputError {
	switch {
	case !workloadID.MatchString(s.ID):
		return &InputError{"id", "must be 1 to 128 letters, digits, '.', '_' or '-'"}
	case s.Kind == events.WorkloadKindJob && (s.Job == nil || strings.TrimSpace(s.Job.Command) == ""):
		return &InputError{"job.command", "is required for a job"}
	case s.Kind == events.WorkloadKindEnvironment && s.Job != nil:
		return &InputError{"job", "an environment workload runs no job"}
	case s.Pool != "" && !t.l.cfg.Serves(s.Pool, string(s.Kind)):
		return &InputError{"pool", fmt.Sprintf("pool %s does not take %s workloads (it serves %s)",
			s.Pool, s.Kind, strings.Join(t.l.cfg.Kinds[s.Pool], ", "))}
	case s.MinRuntimeMS < 0:
		return &InputError{"min_runtime", "must not be negative"}
	case s.MaxRuntimeMS < 0:
		return &InputError{"max_runtime", "must not be negative"}
	}
	for i, d := range s.DependsOn {
		if !workloadID.MatchString(d) {
			return &InputError{fmt.Sprintf("depends_on[%d]", i), "is not a workload id"}
		}
	}
	for _, r := range sortedKeys(s.Demand) {
		if s.Demand[r] < 0 {
			return &InputError{"demand." + r, "must not be negative"}
		}
	}
	_, err := domain.NewWorkload(workloadOf(s, t.now))
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return &InputError{Field: apiField(fe.Field), Message: fe.Err.Error() + detail(fe.Detail)}
	}
	return nil
}

// Release gives an admission back or withdraws a queued workload; it is
// always answered, also for an unknown id (a null compensation).
func (t *tx) Release(cmd events.ReleaseCommand) error {
	m := t.l.core.metas[cmd.WorkloadID]
	existed := m != nil && m.outcome == ""
	return t.emit(events.TypeWorkloadReleased, events.WorkloadReleased{
		WorkloadID: cmd.WorkloadID, Existed: existed, Reason: cmd.Reason, Saga: cmd.Saga, At: t.now})
}

// Settle shrinks an admitted workload's demand.
func (t *tx) Settle(cmd events.SettleCommand) error {
	info, ok := t.l.core.state.Workload(cmd.WorkloadID)
	demand := map[string]int64{}
	if ok {
		for r, q := range info.Workload.Demand {
			demand[r] = q
			if info.Status == domain.StatusAdmitted {
				demand[r] = max(0, q-cmd.Release[r])
			}
		}
	}
	return t.emit(events.TypeWorkloadSettled, events.WorkloadSettled{
		WorkloadID: cmd.WorkloadID, Demand: demand, Saga: cmd.Saga, At: t.now})
}

// Cancel dequeues a workload, or stops a running job.
func (t *tx) Cancel(id, by, reason string) (View, error) {
	c := t.l.core
	m := c.metas[id]
	if m == nil {
		return View{}, ErrNotFound
	}
	why := "cancelled by " + by
	if reason != "" {
		why += ": " + reason
	}
	switch {
	case m.outcome != "":
		return View{}, fmt.Errorf("%w: the workload has already ended (%s)", ErrConflict, m.outcome)
	case c.state.Status(id) == domain.StatusQueued:
		if err := t.emit(events.TypeWorkloadCancelled, events.WorkloadCancelled{
			WorkloadID: id, Team: m.spec.Team, Reason: why, Saga: m.saga, At: t.now}); err != nil {
			return View{}, err
		}
	case m.spec.Kind == events.WorkloadKindEnvironment:
		return View{}, fmt.Errorf("%w: an environment gives its admission back when it is torn down", ErrConflict)
	default:
		if err := t.emit(events.TypeWorkloadFailed, events.WorkloadFailed{
			WorkloadID: id, Team: m.spec.Team, Admission: m.admission, Reason: why, ExitCode: -1, At: t.now}); err != nil {
			return View{}, err
		}
	}
	return c.view(m), nil
}

// Report applies what a runner said about a job.
func (t *tx) Report(eventType string, data any) error {
	c := t.l.core
	switch d := data.(type) {
	case events.JobFinished:
		t.victimEnded(d.WorkloadID, d.Admission)
	case events.JobTimedOut:
		t.victimEnded(d.WorkloadID, d.Admission)
	case events.JobStopped:
		t.victimEnded(d.WorkloadID, d.Admission)
	}
	switch d := data.(type) {
	case events.JobStarted:
		if m := c.current(d.WorkloadID, d.Admission); m != nil && c.state.Status(d.WorkloadID) == domain.StatusAdmitted {
			return t.emit(events.TypeWorkloadStarted, events.WorkloadStarted{
				WorkloadID: d.WorkloadID, Admission: d.Admission, Runner: d.Runner, At: d.At})
		}
	case events.JobFinished:
		m := c.current(d.WorkloadID, d.Admission)
		if m == nil || !c.endable(d.WorkloadID) {
			return nil
		}
		if d.ExitCode == 0 && d.Error == "" {
			return t.emit(events.TypeWorkloadFinished, events.WorkloadFinished{WorkloadID: d.WorkloadID, Team: m.spec.Team,
				Admission: d.Admission, ExitCode: 0, DurationMS: d.DurationMS, Output: outputTail(d.Output), At: t.now})
		}
		reason := fmt.Sprintf("exited with code %d", d.ExitCode)
		if d.Error != "" {
			reason = "could not run: " + d.Error
		}
		return t.emit(events.TypeWorkloadFailed, events.WorkloadFailed{WorkloadID: d.WorkloadID, Team: m.spec.Team,
			Admission: d.Admission, Reason: reason, ExitCode: d.ExitCode, DurationMS: d.DurationMS,
			Output: outputTail(d.Output), At: t.now})
	case events.JobTimedOut:
		m := c.current(d.WorkloadID, d.Admission)
		if m == nil || !c.endable(d.WorkloadID) {
			return nil
		}
		return t.emit(events.TypeWorkloadFailed, events.WorkloadFailed{WorkloadID: d.WorkloadID, Team: m.spec.Team,
			Admission: d.Admission, Reason: fmt.Sprintf("timed out after %d ms", m.spec.MaxRuntimeMS),
			ExitCode: -1, DurationMS: d.DurationMS, Output: outputTail(d.Output), At: t.now})
	case events.JobStopped:
		m := c.current(d.WorkloadID, d.Admission)
		if m == nil || c.state.Status(d.WorkloadID) != domain.StatusAdmitted {
			return nil // stopped because it was preempted or cancelled
		}
		return t.emit(events.TypeWorkloadRequeued, events.WorkloadRequeued{WorkloadID: d.WorkloadID,
			Admission: d.Admission, Reason: "runner " + d.Runner + " stopped the job (" + d.Reason + "); queued again", At: t.now})
	default:
		return fmt.Errorf("report %s: unexpected data %T", eventType, data)
	}
	return nil
}

// endable says whether a job's end report applies: its admission is the
// current one (the caller checks) and it is admitted, or queued again
// after its runner went quiet but not admitted anew — the job did run
// to its end, and must not run a second time.
func (c *Core) endable(id string) bool {
	st := c.state.Status(id)
	return st == domain.StatusAdmitted || st == domain.StatusQueued
}

// outputTail is the end of a job's output that the log keeps: at most
// events.MaxLoggedOutput bytes, starting on a whole UTF-8 character.
func outputTail(out string) string {
	if len(out) <= events.MaxLoggedOutput {
		return out
	}
	out = out[len(out)-events.MaxLoggedOutput:]
	for i := 0; i < len(out) && i < utf8.UTFMax; i++ {
		if utf8.RuneStart(out[i]) {
			return out[i:]
		}
	}
	return out
}

// SetPool changes or adds a pool through the API.
func (t *tx) SetPool(name string, capacity map[string]int64) error {
	if _, err := domain.NewPool(name, capacity); err != nil {
		return asInput(err)
	}
	err := t.emit(events.TypePoolConfigured, events.PoolConfigured{Name: name, Capacity: capacity, Source: SourceAPI, At: t.now})
	return asInput(err)
}

// SetTeam changes or adds a team's weight and quotas through the API.
func (t *tx) SetTeam(team domain.Team) error {
	if _, err := domain.NewTeam(team); err != nil {
		return asInput(err)
	}
	return asInput(t.emit(events.TypeTeamConfigured, teamEvent(team, SourceAPI, t.now)))
}

func asInput(err error) error {
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return &InputError{Field: apiField(fe.Field), Message: fe.Err.Error() + detail(fe.Detail)}
	}
	return err
}

// apiField spells a core field name as the API does.
func apiField(f string) string {
	for from, to := range map[string]string{
		"dependsOn": "depends_on", "minRuntime": "min_runtime", "maxRuntime": "max_runtime",
		"borrowingLimit": "borrowing_limit", "lendingLimit": "lending_limit",
	} {
		if strings.HasPrefix(f, from) {
			return to + strings.TrimPrefix(f, from)
		}
	}
	return f
}

func detail(d string) string {
	if d == "" {
		return ""
	}
	return " (" + d + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
