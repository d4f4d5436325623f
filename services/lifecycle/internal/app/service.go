package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
)

// Sagas starts environment sagas (starting an existing id is a no-op),
// reads them, and aborts a create that is cancelled.
type Sagas interface {
	Start(ctx context.Context, defName, sagaID string, data any) error
	Get(ctx context.Context, sagaID string) (saga.Instance, error)
	Deliver(ctx context.Context, sagaID string, in saga.Input) error
}

// Publisher publishes events and waits for the ack.
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Service holds the lifecycle use cases.
type Service struct {
	envs    Environments
	sagas   Sagas
	catalog *domain.Catalog
	// pool is the scheduler pool new environments queue in.
	pool string
	pub  Publisher
	log  *slog.Logger
	now  func() time.Time
	// resumeBackoff is the first wait before a failed compensation is
	// resumed (reconcile doubles it each round).
	resumeBackoff time.Duration
	// sent is what flush published and the store still holds.
	sent *published
	// retention is how long a deleted environment is kept before it is
	// purged (its key, and with it its entry in every index).
	retention time.Duration
	// capacity refuses new work while a stream is full (nil: never).
	capacity Capacity
}

// NewService builds the lifecycle use cases. New environments queue for
// admission in the scheduler pool pool.
func NewService(envs Environments, sagas Sagas, cat *domain.Catalog, pool string, pub Publisher, log *slog.Logger) *Service {
	sent := newPublished()
	return &Service{envs: lazyOutbox{Environments: envs, sent: sent}, sagas: sagas, catalog: cat, pool: pool, pub: pub, log: log,
		now: func() time.Time { return time.Now().UTC() }, resumeBackoff: time.Second, sent: sent,
		retention: DefaultRetention}
}

// WithResumeBackoff sets the first wait before reconcile resumes a failed
// compensation (1s by default); each further round waits twice as long,
// at most two minutes.
func (s *Service) WithResumeBackoff(d time.Duration) *Service {
	s.resumeBackoff = max(d, time.Millisecond)
	return s
}

// DefaultRetention is how long a deleted environment stays readable.
const DefaultRetention = 7 * 24 * time.Hour

// WithRetention sets how long a deleted environment is kept before
// reconcile purges it (DefaultRetention by default).
func (s *Service) WithRetention(d time.Duration) *Service {
	s.retention = max(d, time.Millisecond)
	return s
}

// Remembered is how many environments this process keeps published
// transition events of (at most those in flight).
func (s *Service) Remembered() int { return s.sent.size() }

// Catalog is the template catalog the service validates against.
func (s *Service) Catalog() *domain.Catalog { return s.catalog }

// Create validates the request, stores the environment (requested) and
// starts its create saga. What a crash interrupts, Reconcile finishes.
func (s *Service) Create(ctx context.Context, p authn.Principal, req domain.CreateRequest) (domain.Environment, error) {
	if !p.InTeam(req.Team) {
		return domain.Environment{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "team", Message: "unknown team, or not yours"}}}
	}
	r, err := domain.NewEnvironmentRequest(s.catalog, req)
	if err != nil {
		return domain.Environment{}, err
	}
	if err := s.refuseWhenFull(ctx); err != nil {
		return domain.Environment{}, err
	}
	id, err := domain.NewEnvironmentID(rand.Reader)
	if err != nil {
		return domain.Environment{}, err
	}
	env, err := domain.NewEnvironment(id, r, SagaID(id, OpCreate, 1), p.ID, s.now())
	if err != nil {
		return domain.Environment{}, err
	}
	env = withTransition(domain.Environment{}, env, s.now())
	// Stored queued at once, both transitions in one write.
	queued, err := env.Queue(s.pool, s.now())
	if err != nil {
		return domain.Environment{}, err
	}
	env = withTransition(env, queued, s.now())
	if err := s.envs.Reserve(ctx, env.Team, env.Name, env.ID); err != nil {
		return domain.Environment{}, err
	}
	if err := s.envs.Create(ctx, env); err != nil {
		return domain.Environment{}, err
	}
	s.flush(ctx, env)
	// Stored queued already: start its saga without reading it back.
	return env, s.startSaga(ctx, env)
}

// startOperation moves a new environment on from requested to queued,
// then starts the saga of its current operation. A create stays queued
// until the scheduler admits it (HandleAdmission moves it on); the admit
// step cannot succeed before that move, so the saga's end always finds
// the environment in a state the end applies to. Both steps are
// idempotent: Reconcile calls this again for anything a crash interrupted.
func (s *Service) startOperation(ctx context.Context, id string) (domain.Environment, error) {
	env, _, err := s.envs.Get(ctx, id)
	if err != nil || env.Operation == nil {
		return env, err
	}
	if env.State == domain.StateRequested {
		env, err = s.Transition(ctx, id, func(e domain.Environment) (domain.Environment, error) {
			if e.State != domain.StateRequested {
				return e, errNoChange
			}
			return e.Queue(s.pool, s.now())
		})
		if err != nil && !errors.Is(err, errNoChange) {
			return env, err
		}
	}
	return env, s.startSaga(ctx, env)
}

// startSaga starts the saga of env's current operation (a no-op if it
// runs already).
func (s *Service) startSaga(ctx context.Context, env domain.Environment) error {
	t, err := s.catalog.Get(env.Template, env.Version)
	if err != nil {
		return fmt.Errorf("environment %s: %w", env.ID, err)
	}
	data, err := s.sagaData(env, t)
	if err != nil {
		return err
	}
	if err := s.sagas.Start(ctx, DefinitionName(string(env.Operation.Kind), t), env.Operation.ID, data); err != nil {
		return fmt.Errorf("start %s: %w", env.Operation.ID, err)
	}
	return nil
}

func (s *Service) sagaData(env domain.Environment, t domain.Template) (SagaData, error) {
	_, resolved, err := t.Resolve(env.Parameters)
	if err != nil {
		return SagaData{}, fmt.Errorf("environment %s: resolve parameters: %w", env.ID, err)
	}
	d := SagaData{EnvironmentID: env.ID, Team: env.Team, Stage: string(env.Stage)}
	if len(env.Revisions) > 0 {
		d.RequestedBy = env.Revisions[0].By
	}
	if env.Admission != nil {
		d.Pool = env.Admission.Pool
	}
	d.Resources = resourceSpecs(env.ID, resolved)
	if env.Operation.Kind == domain.OpUpdate {
		if d.Previous, err = previousSpecs(env, t); err != nil {
			return SagaData{}, err
		}
	}
	return d, nil
}

func resourceSpecs(envID string, resolved []domain.ResolvedResource) []events.ResourceSpec {
	out := make([]events.ResourceSpec, 0, len(resolved))
	for _, r := range resolved {
		out = append(out, events.ResourceSpec{
			ID: domain.ResourceID(envID, r.Name), Name: r.Name, Driver: string(r.Driver),
			Class: r.Class, Parameters: r.Parameters,
		})
	}
	return out
}

// previousSpecs is, for an update, every resource as the revision it
// started from had it: what undoing the update puts back.
func previousSpecs(env domain.Environment, t domain.Template) (map[string]events.ResourceSpec, error) {
	from := env.Operation.FromRevision
	if from == 0 { // stored before FromRevision existed
		from = env.Revision - 1
	}
	params, ok := env.RevisionParameters(from)
	if !ok {
		return nil, nil
	}
	_, resolved, err := t.Resolve(params)
	if err != nil {
		return nil, fmt.Errorf("environment %s: resolve revision %d: %w", env.ID, from, err)
	}
	out := map[string]events.ResourceSpec{}
	for _, r := range resourceSpecs(env.ID, resolved) {
		out[r.Name] = r
	}
	return out, nil
}

// Transition applies change with compare-and-set, stores a transition
// event with the new state when the state moved, and publishes it.
func (s *Service) Transition(ctx context.Context, id string, change func(domain.Environment) (domain.Environment, error)) (domain.Environment, error) {
	env, err := mutate(ctx, s.envs, id, func(cur domain.Environment) (domain.Environment, error) {
		next, err := change(cur)
		if err != nil {
			return cur, err
		}
		return withTransition(cur, next, s.now()), nil
	})
	if err != nil {
		return env, err
	}
	s.flush(ctx, env)
	return env, nil
}

// withTransition appends the transition event to next's outbox when the
// state moved from cur's.
func withTransition(cur, next domain.Environment, now time.Time) domain.Environment {
	if cur.ID != "" && cur.State == next.State {
		return next
	}
	next.Seq = cur.Seq + 1
	ev := events.EnvironmentTransitioned{
		EnvironmentID: next.ID, Team: next.Team, Name: next.Name, Template: next.Template,
		Version: next.Version, Stage: string(next.Stage), From: string(cur.State), To: string(next.State),
		Reason: next.Reason, Revision: next.Revision, ExpiresAt: next.ExpiresAt, Seq: next.Seq, At: now,
	}
	if next.Operation != nil {
		ev.OperationID = next.Operation.ID
	}
	next.Outbox = append(append([]events.EnvironmentTransitioned(nil), next.Outbox...), ev)
	return next
}

// flush publishes the transition events env (as just stored) holds that
// were not published yet. Event ids are <env>/transition/<seq>, so a
// repeat is deduplicated. An environment at rest then has them cleared
// from its stored outbox; one in flight keeps them until its next write,
// which drops them (see published). A failure leaves them for the next
// flush (Reconcile flushes every pass).
func (s *Service) flush(ctx context.Context, env domain.Environment) {
	if len(env.Outbox) == 0 {
		return
	}
	id := env.ID
	for _, ev := range s.sent.unpublished(env) {
		e, err := bus.NewEvent(fmt.Sprintf("%s/transition/%d", ev.EnvironmentID, ev.Seq), "pave/lifecycle", events.TypeEnvironmentTransitioned, ev)
		if err == nil {
			// Consumers keep order per CloudEvent subject, so one
			// environment's transitions stay in order and different
			// environments' are handled side by side.
			e.SetSubject(ev.EnvironmentID)
			err = s.pub.Publish(ctx, e)
		}
		if err != nil {
			s.log.Warn("transition event not published yet", "environment", id, "seq", ev.Seq, "error", err)
			return
		}
		s.sent.mark(id, ev.Seq)
	}
	if inFlight(env.State) {
		return
	}
	_, err := mutate(ctx, s.envs, id, func(e domain.Environment) (domain.Environment, error) {
		if len(e.Outbox) == 0 {
			return e, errNoChange
		}
		return e, nil // the store drops what was published
	})
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, errNoChange) {
		s.log.Warn("transition outbox not cleared", "environment", id, "error", err)
	}
}
