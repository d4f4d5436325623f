package domain

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// teamName is access's rule for team names; idPattern a notify id.
var (
	teamName  = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)
	idPattern = regexp.MustCompile(`^(_platform|[a-z]([a-z0-9-]{0,38}[a-z0-9])?)\.[a-z2-7]{1,32}$`)
)

// ValidID reports whether id can be a subscription's or an alert's.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// Formats a subscription delivers in.
const (
	FormatBinary     = "cloudevents-binary"
	FormatStructured = "cloudevents-structured"
	FormatSlack      = "slack"
	FormatTeams      = "teams"
)

// Formats lists every format, in the order the API documents them.
var Formats = []string{FormatBinary, FormatStructured, FormatSlack, FormatTeams}

// States of a subscription.
const (
	StateActive   = "active"
	StateDisabled = "disabled"
)

// PlatformScope is the scope of a subscription an admin made without a
// team: it sees every event.
const PlatformScope = "_platform"

// Limits of one subscription's filters.
const (
	maxFilters   = 32
	maxFilterLen = 200
	maxURLLen    = 2048
)

// FieldError names the field of a request that is wrong.
type FieldError struct{ Field, Message string }

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// InvalidError is every field error of one request.
type InvalidError struct{ Fields []FieldError }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Secret is a signing secret ("whsec_" + base64); an old one stays valid
// until ExpiresAt after a rotation.
type Secret struct {
	Value     string     `json:"value"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Subscription sends the events it matches to one HTTPS endpoint.
type Subscription struct {
	ID           string    `json:"id"`
	Team         string    `json:"team,omitempty"`
	URL          string    `json:"url"`
	Format       string    `json:"format"`
	Types        []string  `json:"types"`
	Environments []string  `json:"environments,omitempty"`
	Stages       []string  `json:"stages,omitempty"`
	Applications []string  `json:"applications,omitempty"`
	Description  string    `json:"description,omitempty"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	State        string    `json:"state"`
	// FailingSince is the first failed attempt since the last success.
	FailingSince   *time.Time `json:"failing_since,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	// Secrets sign deliveries: the current one first. Never shown
	// after the create's answer.
	Secrets []Secret `json:"secrets"`
}

// Request is what a caller asks for when creating a subscription.
type Request struct {
	Team         string   `json:"team"`
	URL          string   `json:"url"`
	Format       string   `json:"format"`
	Types        []string `json:"types"`
	Environments []string `json:"environments"`
	Stages       []string `json:"stages"`
	Applications []string `json:"applications"`
	Description  string   `json:"description"`
}

// Scope is the team, or PlatformScope.
func (s Subscription) Scope() string { return ScopeOf(s.Team) }

// ScopeOf is the scope of a team ("" is the platform).
func ScopeOf(team string) string {
	if team == "" {
		return PlatformScope
	}
	return team
}

// ScopeOfID is the scope an id was made in (ids are "<scope>.<random>").
func ScopeOfID(id string) string {
	scope, _, _ := strings.Cut(id, ".")
	return scope
}

// NewSubscription validates r and makes the subscription with id and
// its first secret. Every wrong field is named; the URL's host is only
// parsed here (whether it may be dialled is the dialer's to say).
func NewSubscription(r Request, id, by, secret string, now time.Time) (Subscription, error) {
	var errs []FieldError
	add := func(f, m string) { errs = append(errs, FieldError{f, m}) }
	if r.Team != "" && !teamName.MatchString(r.Team) {
		add("team", "not a team name")
	}
	u, err := url.Parse(r.URL)
	switch {
	case r.URL == "":
		add("url", "is required")
	case len(r.URL) > maxURLLen:
		add("url", fmt.Sprintf("longer than %d characters", maxURLLen))
	case err != nil || u.Host == "" || u.Hostname() == "":
		add("url", "not an absolute URL with a host")
	case u.Scheme != "https" && u.Scheme != "http":
		add("url", "must be https")
	case u.User != nil:
		add("url", "must not carry a user or password")
	case u.Fragment != "":
		add("url", "must not have a fragment")
	}
	if r.Format == "" {
		r.Format = FormatStructured
	}
	if !slices.Contains(Formats, r.Format) {
		add("format", "must be one of "+strings.Join(Formats, ", "))
	}
	if len(r.Types) == 0 {
		r.Types = []string{"*"}
	}
	errs = append(errs, checkGlobs("types", r.Types)...)
	errs = append(errs, checkGlobs("environments", r.Environments)...)
	errs = append(errs, checkGlobs("stages", r.Stages)...)
	errs = append(errs, checkGlobs("applications", r.Applications)...)
	if len(r.Description) > 500 {
		add("description", "longer than 500 characters")
	}
	if len(errs) > 0 {
		return Subscription{}, &InvalidError{Fields: errs}
	}
	return Subscription{ID: id, Team: r.Team, URL: r.URL, Format: r.Format, Types: r.Types,
		Environments: r.Environments, Stages: r.Stages, Applications: r.Applications,
		Description: r.Description, CreatedBy: by, CreatedAt: now.UTC(), State: StateActive,
		Secrets: []Secret{{Value: secret}}}, nil
}

func checkGlobs(field string, globs []string) []FieldError {
	if len(globs) > maxFilters {
		return []FieldError{{field, fmt.Sprintf("at most %d patterns", maxFilters)}}
	}
	var errs []FieldError
	for i, g := range globs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if _, err := path.Match(g, ""); err != nil || g == "" || len(g) > maxFilterLen {
			errs = append(errs, FieldError{f, "not a glob pattern (* ? [a-z], at most 200 characters)"})
		}
	}
	return errs
}

// Attrs are what a subscription's filters read of an event.
type Attrs struct {
	ID, Type, Subject string
	Team              string
	// Environment is the environment's id and Name its name.
	Environment, Name string
	Stage             string
	Application       string
	// Settled: the environment reached a state where nothing runs.
	To string
}

// Matches reports whether the subscription wants the event. A team's
// subscription only sees its team's events; a platform subscription
// sees all.
func (s Subscription) Matches(a Attrs) bool {
	if s.State != StateActive {
		return false
	}
	if s.Team != "" && a.Team != s.Team {
		return false
	}
	return anyGlob(s.Types, a.Type) &&
		(len(s.Environments) == 0 || anyGlob(s.Environments, a.Environment) || (a.Name != "" && anyGlob(s.Environments, a.Name))) &&
		(len(s.Stages) == 0 || anyGlob(s.Stages, a.Stage)) &&
		(len(s.Applications) == 0 || anyGlob(s.Applications, a.Application))
}

func anyGlob(globs []string, v string) bool {
	if v == "" {
		return false
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, v); ok {
			return true
		}
	}
	return false
}

// ValidSecrets are the secrets that sign a delivery at now: the current
// one, and an old one until it expires.
func (s Subscription) ValidSecrets(now time.Time) []string {
	var out []string
	for _, sec := range s.Secrets {
		if sec.ExpiresAt == nil || now.Before(*sec.ExpiresAt) {
			out = append(out, sec.Value)
		}
	}
	return out
}

// Rotate makes next the current secret; the current one stays valid for
// overlap. Older ones are dropped: at most two secrets are ever valid.
func (s *Subscription) Rotate(next string, now time.Time, overlap time.Duration) {
	exp := now.Add(overlap).UTC()
	old := s.Secrets[0]
	old.ExpiresAt = &exp
	s.Secrets = []Secret{{Value: next}, old}
}

// ErrDisabled is a delivery to a disabled subscription.
var ErrDisabled = errors.New("subscription disabled")
