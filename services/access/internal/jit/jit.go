// Package jit is just-in-time access: requests and their approvals, the
// grants they give (and break-glass grants), the timer that starts and
// ends grants on time, and access review campaigns.
//
//	request ─ N approvals by others ─ grant (scheduled|active) ─ expiry/revoke/review ─ ended
//	                                     │ activated event          │ revoked event
//
// State lives in three KV buckets (requests, grants, reviews) written by
// compare-and-set, so several access instances may run: every instance
// runs the timer, and only the one whose write wins publishes the event.
package jit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/policy"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Buckets of the JIT state.
const (
	RequestBucket = "ACCESS_REQUESTS"
	ReviewBucket  = "ACCESS_REVIEWS"
)

// DefaultBreakGlassRoles: a maintainer of one environment or one stage.
const DefaultBreakGlassRoles = "maintainer@environment,maintainer@stage"

// MaxBreakGlass is the longest break-glass grant.
const MaxBreakGlass = time.Hour

// GrantBucket is the KV bucket of just-in-time grants. Only this service
// reads it: the gateway learns of grants from the grant events.
const GrantBucket = "ACCESS_GRANTS"

// Config are the approval rules.
type Config struct {
	// MaxGrant is the longest grant a request may ask for.
	MaxGrant time.Duration `env:"PAVE_ACCESS_MAX_GRANT" envDefault:"8h"`
	// RequestTTL is how long a request waits for its approvals.
	RequestTTL time.Duration `env:"PAVE_ACCESS_REQUEST_TTL" envDefault:"24h"`
	// Approvals is how many distinct people (never the requester) must
	// approve a request.
	Approvals int `env:"PAVE_ACCESS_APPROVALS" envDefault:"1"`
	// ApprovalsByRole overrides Approvals per requested role or for
	// teardown requests: "admin=2,teardown=1".
	ApprovalsByRole string `env:"PAVE_ACCESS_APPROVALS_BY_ROLE"`
	// BreakGlassRoles are the role and scope pairs a break-glass grant may
	// take: "role@scope", scope one of environment, stage, team. The
	// default is a maintainer of one environment or one stage.
	BreakGlassRoles string `env:"PAVE_ACCESS_BREAK_GLASS_ROLES" envDefault:"maintainer@environment,maintainer@stage"`
	// BreakGlassReview is how long the review item every break-glass grant
	// opens stays open for a maintainer (not the holder) to policy.
	BreakGlassReview time.Duration `env:"PAVE_ACCESS_BREAK_GLASS_REVIEW" envDefault:"168h"`
}

// Validate names every variable that is wrong.
func (c Config) Validate() error {
	var errs []error
	if _, err := c.rules(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.breakGlassRoles(); err != nil {
		errs = append(errs, err)
	}
	if c.BreakGlassReview != 0 && c.BreakGlassReview < time.Minute {
		errs = append(errs, fmt.Errorf("PAVE_ACCESS_BREAK_GLASS_REVIEW: %s is less than 1m", c.BreakGlassReview))
	}
	return errors.Join(errs...)
}

// breakGlassRoles parses BreakGlassRoles into role → allowed scope kinds.
// Admin is refused: it adds only identity and governance actions, which
// grants never reach.
func (c Config) breakGlassRoles() (map[string][]string, error) {
	out := map[string][]string{}
	spec := c.BreakGlassRoles
	if spec == "" {
		spec = DefaultBreakGlassRoles
	}
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		role, scope, ok := strings.Cut(kv, "@")
		switch {
		case !ok || !slices.Contains(policy.ElevatingRoles(), role):
			return nil, fmt.Errorf("PAVE_ACCESS_BREAK_GLASS_ROLES: %q is not role@scope with role viewer, developer or maintainer", kv)
		case scope != events.GrantScopeEnvironment && scope != events.GrantScopeStage && scope != events.GrantScopeTeam:
			return nil, fmt.Errorf("PAVE_ACCESS_BREAK_GLASS_ROLES: %q: scope must be environment, stage or team", kv)
		}
		out[role] = append(out[role], scope)
	}
	if len(out) == 0 {
		return nil, errors.New("PAVE_ACCESS_BREAK_GLASS_ROLES: names no role@scope (break-glass would be impossible)")
	}
	return out, nil
}

func (c Config) rules() (map[string]int, error) {
	out := map[string]int{}
	if c.Approvals < 1 {
		return nil, fmt.Errorf("PAVE_ACCESS_APPROVALS: %d is less than 1", c.Approvals)
	}
	for _, kv := range strings.Split(c.ApprovalsByRole, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 || (policy.RoleRank(k) == 0 && k != domain.KindTeardown) {
			return nil, fmt.Errorf("PAVE_ACCESS_APPROVALS_BY_ROLE: %q is not role=N (N ≥ 1; role viewer..admin or teardown)", kv)
		}
		out[k] = n
	}
	return out, nil
}

// Errors the API maps to answers.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object is not in a state that allows the change.
	ErrConflict = errors.New("conflict")
	// ErrSelfApproval: nobody approves their own request.
	ErrSelfApproval = errors.New("self-approval")
	// ErrNotOwn: only a grant's holder ends it early this way.
	ErrNotOwn = errors.New("not the holder")
)

// conflict wraps ErrConflict with a reason.
func conflict(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, a...))
}

// Publisher publishes events (pkg/bus).
type Publisher interface {
	Publish(ctx context.Context, e event.Event) error
}

// Recorder appends to the audit ledger.
type Recorder interface {
	Append(ctx context.Context, r audit.Record) error
}

// Teams says which teams exist.
type Teams interface {
	TeamExists(name string) bool
}

// Service is just-in-time access.
type Service struct {
	cfg       Config
	approvals map[string]int
	// breakGlass are the roles break-glass may give, with their scopes.
	breakGlass map[string][]string
	// subjects are the memberships, service accounts and tokens reviews
	// cover (nil: reviews cover grants only).
	subjects Subjects
	requests Table[domain.Request]
	grants   Table[policy.Grant]
	reviews  Table[domain.Review]
	index    *policy.Grants
	pub      Publisher
	rec      Recorder
	teams    Teams
	log      *slog.Logger
	now      func() time.Time
	wake     chan struct{}
}

// New opens the buckets and loads the state; index receives every grant.
func New(ctx context.Context, tables Tables, cfg Config, index *policy.Grants,
	pub Publisher, rec Recorder, teams Teams, log *slog.Logger) (*Service, error) {
	rules, err := cfg.rules()
	if err != nil {
		return nil, err
	}
	bg, err := cfg.breakGlassRoles()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, approvals: rules, breakGlass: bg, index: index, pub: pub, rec: rec, teams: teams, log: log,
		now: time.Now, wake: make(chan struct{}, 1)}
	poke := func() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	if s.grants, err = tables.Grants(ctx, func(g policy.Grant) { index.Put(g); poke() }); err != nil {
		return nil, err
	}
	if s.requests, err = tables.Requests(ctx, func(domain.Request) { poke() }); err != nil {
		return nil, err
	}
	if s.reviews, err = tables.Reviews(ctx, func(domain.Review) { poke() }); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops following the buckets.
func (s *Service) Close() {
	s.grants.Close()
	s.requests.Close()
	s.reviews.Close()
}

func newID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// record puts a change in the audit ledger.
func (s *Service) record(ctx context.Context, p string, kind, team, action, resource string, details map[string]string) error {
	if err := s.rec.Append(ctx, audit.Record{Kind: "access", Actor: p, Team: team, Action: action,
		Resource: resource, Details: details}); err != nil {
		return fmt.Errorf("record %s %s: %w", action, resource, err)
	}
	_ = kind
	return nil
}

// actor is how a principal is named in requests and grants.
func actor(p authn.Principal) string { return p.ID }

// ScopeInput is the scope of a request or break-glass grant.
type ScopeInput struct {
	Team          string `json:"team"`
	EnvironmentID string `json:"environment_id,omitempty"`
	Stage         string `json:"stage,omitempty"`
}

func (s *Service) scope(in ScopeInput) (events.GrantScope, error) {
	switch {
	case in.Team == "":
		return events.GrantScope{}, &domain.FieldError{Field: "scope.team", Message: "is required"}
	case !s.teams.TeamExists(in.Team):
		return events.GrantScope{}, &domain.FieldError{Field: "scope.team", Message: fmt.Sprintf("no team %q", in.Team)}
	case in.EnvironmentID != "" && in.Stage != "":
		return events.GrantScope{}, &domain.FieldError{Field: "scope", Message: "name environment_id or stage, not both"}
	case in.EnvironmentID != "":
		return events.GrantScope{Kind: events.GrantScopeEnvironment, EnvironmentID: in.EnvironmentID}, nil
	case in.Stage != "":
		if !stagePattern(in.Stage) {
			return events.GrantScope{}, &domain.FieldError{Field: "scope.stage", Message: fmt.Sprintf("%q is not a stage name", in.Stage)}
		}
		return events.GrantScope{Kind: events.GrantScopeStage, Stage: in.Stage}, nil
	}
	return events.GrantScope{Kind: events.GrantScopeTeam}, nil
}

func stagePattern(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func parseDuration(field, v string, limit time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, &domain.FieldError{Field: field, Message: "is required (a Go duration such as 30m or 2h)"}
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, &domain.FieldError{Field: field, Message: fmt.Sprintf("%q is not a duration such as 30m or 2h", v)}
	case d < time.Second:
		return 0, &domain.FieldError{Field: field, Message: "must be at least 1s"}
	case d > limit:
		return 0, &domain.FieldError{Field: field, Message: fmt.Sprintf("%s is over the maximum of %s", d, limit)}
	}
	return d, nil
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
