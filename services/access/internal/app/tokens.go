package app

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/services/access/audit"
	"github.com/pave-platform/pave/services/access/internal/domain"
)

// Tokens issues, lists and revokes API tokens.
type Tokens struct {
	tokens TokenStore
	dir    Directory
	rec    Recorder
	now    func() time.Time
	// maxLive caps the live (unexpired, unrevoked) tokens of one subject.
	maxLive int
}

// TokensConfig bounds the tokens one identity holds.
type TokensConfig struct {
	// MaxPerUser is how many live tokens one user or service account may
	// hold; minting more is refused until one is revoked or expires.
	MaxPerUser int `env:"PAVE_ACCESS_MAX_TOKENS_PER_USER" envDefault:"10"`
}

// Validate names the variable that is wrong.
func (c TokensConfig) Validate() error {
	if c.MaxPerUser < 1 {
		return fmt.Errorf("PAVE_ACCESS_MAX_TOKENS_PER_USER: %d is less than 1", c.MaxPerUser)
	}
	return nil
}

// DefaultMaxTokensPerUser is the cap when none is configured.
const DefaultMaxTokensPerUser = 10

// NewTokens builds the handlers.
func NewTokens(tokens TokenStore, dir Directory, rec Recorder) *Tokens {
	return &Tokens{tokens: tokens, dir: dir, rec: rec, now: time.Now, maxLive: DefaultMaxTokensPerUser}
}

// WithConfig applies the cap of c (0 keeps the default).
func (h *Tokens) WithConfig(c TokensConfig) *Tokens {
	if c.MaxPerUser > 0 {
		h.maxLive = c.MaxPerUser
	}
	return h
}

// LimitError refuses a change that would pass a cap, naming the field.
type LimitError struct{ Field, Message string }

func (e *LimitError) Error() string { return e.Field + ": " + e.Message }

// checkCap refuses a token past the subject's cap of live tokens.
func (h *Tokens) checkCap(ctx context.Context, subject, field string) error {
	all, err := h.tokens.List(ctx)
	if err != nil {
		return err
	}
	now, live := h.now(), 0
	for _, t := range all {
		if t.Subject == subject && t.Active(now) {
			live++
		}
	}
	if live >= h.maxLive {
		return &LimitError{Field: field, Message: fmt.Sprintf("%s already holds %d live tokens, the most one identity may hold "+
			"(PAVE_ACCESS_MAX_TOKENS_PER_USER); revoke one first", subject, live)}
	}
	return nil
}

// IssueRequest says whose token to issue: the caller's own (both empty), a
// user's (platform admins) or a team's service account ("team/name").
type IssueRequest struct {
	User           string `json:"user"`
	ServiceAccount string `json:"service_account"`
	Name           string `json:"name"`
	ExpiresIn      string `json:"expires_in"`
}

// Issued is the one answer that shows the secret.
type Issued struct {
	Token  string `json:"token"`
	Record View   `json:"record"`
}

// View is a token without its hash.
type View struct {
	ID         string     `json:"id"`
	Subject    string     `json:"subject"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func viewOf(t domain.Token) View {
	opt := func(x time.Time) *time.Time {
		if x.IsZero() {
			return nil
		}
		return &x
	}
	return View{ID: t.ID, Subject: t.Subject, Kind: t.Kind, Name: t.Name, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
		ExpiresAt: opt(t.ExpiresAt), LastUsedAt: opt(t.LastUsedAt), RevokedAt: opt(t.RevokedAt)}
}

// Issue creates a token and returns its secret once. The team of a
// service account is returned so the caller (the port) can have the
// decision checked for it.
func (h *Tokens) Issue(ctx context.Context, by authn.Principal, in IssueRequest) (Issued, error) {
	life, err := domain.TokenLifetime("expires_in", in.ExpiresIn)
	if err != nil {
		return Issued{}, err
	}
	subject, kind, team, err := h.subject(by, in)
	if err != nil {
		return Issued{}, err
	}
	if len(in.Name) > 100 {
		return Issued{}, &domain.FieldError{Field: "name", Message: "longer than 100 characters"}
	}
	field := "user"
	if kind == domain.KindServiceAccount {
		field = "service_account"
	}
	if err := h.checkCap(ctx, subject, field); err != nil {
		return Issued{}, err
	}
	secret, err := domain.NewSecret()
	if err != nil {
		return Issued{}, err
	}
	hash, err := domain.HashSecret(secret)
	if err != nil {
		return Issued{}, err
	}
	now := h.now().UTC()
	t := domain.Token{ID: domain.NewTokenID(), Hash: hash, Subject: subject, Kind: kind, Name: in.Name,
		CreatedBy: by.ID, CreatedAt: now, ExpiresAt: now.Add(life)}
	if err := h.tokens.Create(ctx, t); err != nil {
		return Issued{}, err
	}
	if err := h.rec.Append(ctx, audit.Record{Kind: audit.KindToken, Actor: by.ID, ActorKind: by.Kind, Team: team,
		Action: "token.issued", Resource: "Token::" + t.ID,
		Details: map[string]string{"subject": subject, "expires_at": t.ExpiresAt.Format(time.RFC3339)}}); err != nil {
		return Issued{}, fmt.Errorf("record token.issued: %w", err)
	}
	return Issued{Token: secret, Record: viewOf(t)}, nil
}

// subject decides whose token it is; the gateway checked the route, the
// object-level rules are here: only platform admins issue for other users,
// only a team's admins (or platform admins) for its service accounts.
func (h *Tokens) subject(by authn.Principal, in IssueRequest) (subject, kind, team string, err error) {
	switch {
	case in.User != "" && in.ServiceAccount != "":
		return "", "", "", &domain.FieldError{Field: "service_account", Message: "give either user or service_account"}
	case in.ServiceAccount != "":
		t, n, ok := cutSA(in.ServiceAccount)
		if !ok {
			return "", "", "", &domain.FieldError{Field: "service_account", Message: "must be team/name"}
		}
		sa, found := h.dir.ServiceAccount(t, n)
		if !found || !(by.IsPlatformAdmin() || by.TeamRoles[t] == "admin") {
			return "", "", "", ErrNotFound
		}
		return sa.ID(), domain.KindServiceAccount, t, nil
	case in.User != "" && in.User != by.ID:
		if err := domain.CheckUser("user", in.User); err != nil {
			return "", "", "", err
		}
		if !by.IsPlatformAdmin() {
			return "", "", "", ErrForbidden
		}
		return in.User, domain.KindUser, "", nil
	case by.Kind == domain.KindServiceAccount:
		return "", "", "", ErrForbidden // a service account does not mint its own tokens
	}
	return by.ID, domain.KindUser, "", nil
}

func cutSA(s string) (team, name string, ok bool) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}

// List answers the caller's own tokens; platform admins may ask for any
// subject, or all ("*").
func (h *Tokens) List(ctx context.Context, by authn.Principal, subject string) ([]View, error) {
	if subject == "" {
		subject = by.ID
	}
	if subject != by.ID && !by.IsPlatformAdmin() {
		return nil, ErrForbidden
	}
	all, err := h.tokens.List(ctx)
	if err != nil {
		return nil, err
	}
	out := []View{}
	for _, t := range all {
		if subject == "*" || t.Subject == subject {
			out = append(out, viewOf(t))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Revoke revokes a token of the caller, of a service account of a team the
// caller administers, or any (platform admins). Others' tokens are not found.
func (h *Tokens) Revoke(ctx context.Context, by authn.Principal, id string) (View, error) {
	all, err := h.tokens.List(ctx)
	if err != nil {
		return View{}, err
	}
	i := slices.IndexFunc(all, func(t domain.Token) bool { return t.ID == id })
	if i < 0 {
		return View{}, ErrNotFound
	}
	t := all[i]
	team, _, _ := cutSA(t.Subject)
	allowed := by.IsPlatformAdmin() || t.Subject == by.ID ||
		t.Kind == domain.KindServiceAccount && by.TeamRoles[team] == "admin"
	if !allowed {
		return View{}, ErrNotFound
	}
	if t.RevokedAt.IsZero() {
		t.RevokedAt = h.now().UTC()
		if err := h.tokens.Put(ctx, t); err != nil {
			return View{}, err
		}
	}
	if t.Kind != domain.KindServiceAccount {
		team = ""
	}
	if err := h.rec.Append(ctx, audit.Record{Kind: audit.KindToken, Actor: by.ID, ActorKind: by.Kind, Team: team,
		Action: "token.revoked", Resource: "Token::" + t.ID, Details: map[string]string{"subject": t.Subject}}); err != nil {
		return View{}, fmt.Errorf("record token.revoked: %w", err)
	}
	return viewOf(t), nil
}
