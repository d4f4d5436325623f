// Package policy is Pave's one decision point: Cedar policies over team
// membership, evaluated in-process (the gateway links it) or behind the
// access service's pave.access.authorize request/reply.
//
//	principal (from authentication: teams, team roles, platform roles)
//	  + action + resource (type, id, owning team, stage) + context
//	  ─ cache ─ cedar.Authorize(policies, derived entities) ─ Decision{allowed, policies}
//
// Vocabulary: a team role (viewer < developer < maintainer < admin) is a
// Role entity "team/role" in a hierarchy; platform roles are Role entities
// "platform-admin" and "auditor".
package policy

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/pave-platform/pave/pkg/authn"
)

// Decision is the answer, with the policies that permitted or forbade.
type Decision struct {
	Allowed  bool     `json:"allowed"`
	Policies []string `json:"policies,omitempty"`
	// Member reports whether the principal belongs to the resource's
	// owning team (or may see every team): a denied non-member gets 404.
	Member bool     `json:"member"`
	Errors []string `json:"errors,omitempty"`
}

// Request is one question.
type Request struct {
	Principal authn.Principal `json:"principal"`
	Action    string          `json:"action"`
	Resource  Resource        `json:"resource"`
	Context   Context         `json:"context"`
}

// Engine evaluates requests against a policy set, with a cache of answers.
// Every input of a decision is part of the cache key, so an entry never
// goes stale while the policies stay the same.
type Engine struct {
	policies *Policies
	base     types.EntityGetter
	maxCache int
	derived  *derivedCache

	mu    sync.RWMutex
	cache map[string]Decision
}

// Option configures an engine.
type Option func(*Engine)

// WithEntities adds stored entities (beyond those derived from a request).
func WithEntities(g types.EntityGetter) Option { return func(e *Engine) { e.base = g } }

// WithCache bounds the cache (0 turns it off).
func WithCache(n int) Option { return func(e *Engine) { e.maxCache = n } }

// New builds an engine over validated policies.
func New(p *Policies, opts ...Option) *Engine {
	e := &Engine{policies: p, maxCache: 10000, cache: map[string]Decision{}, derived: newDerivedCache(100000)}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Decide answers one request.
func (e *Engine) Decide(r Request) Decision {
	var key string
	if e.maxCache > 0 {
		key = cacheKey(r)
		e.mu.RLock()
		d, ok := e.cache[key]
		e.mu.RUnlock()
		if ok {
			return d
		}
	}
	d := e.evaluate(r)
	if e.maxCache > 0 {
		e.mu.Lock()
		if len(e.cache) >= e.maxCache {
			clear(e.cache) // simple and bounded; the hot set refills at once
		}
		e.cache[key] = d
		e.mu.Unlock()
	}
	return d
}

func (e *Engine) evaluate(r Request) Decision {
	action := cedar.NewEntityUID("Action", cedar.String(r.Action))
	actionEntity, known := e.policies.actions[action]
	if !known {
		actionEntity = cedar.Entity{UID: action}
	}
	ents := requestEntities{action: actionEntity, hasAction: known, principal: principalEntity(r.Principal),
		resource: r.Resource.entity(e.derived), actions: e.policies.actions, base: e.base, derived: e.derived}
	req := cedar.Request{
		Principal: ents.principal.UID,
		Action:    action,
		Resource:  ents.resource.UID,
		Context:   r.Context.record(),
	}
	dec, diag := cedar.Authorize(e.policies.index.For(req.Action, r.Resource.Type, r.Resource.Team), ents, req)
	d := Decision{Allowed: dec == cedar.Allow, Member: member(r)}
	for _, reason := range diag.Reasons {
		d.Policies = append(d.Policies, string(reason.PolicyID))
	}
	sort.Strings(d.Policies)
	for _, de := range diag.Errors {
		d.Errors = append(d.Errors, de.String())
	}
	return d
}

// member: a resource of no team is everybody's; platform admins and
// auditors may know every team's resources exist.
func member(r Request) bool {
	p := r.Principal
	return r.Resource.Team == "" || p.IsPlatformAdmin() || slices.Contains(p.Roles, authn.RoleAuditor) ||
		slices.Contains(p.Teams, r.Resource.Team)
}

func cacheKey(r Request) string {
	var b strings.Builder
	p := r.Principal
	b.WriteString(p.Kind + "\x00" + p.ID + "\x00")
	teams := make([]string, 0, len(p.TeamRoles))
	for t, role := range p.TeamRoles {
		teams = append(teams, t+"="+role)
	}
	sort.Strings(teams)
	b.WriteString(strings.Join(teams, ",") + "\x00" + strings.Join(p.Roles, ",") + "\x00" + strings.Join(p.Teams, ",") + "\x00")
	res := r.Resource
	b.WriteString(r.Action + "\x00" + string(res.Type) + "\x00" + res.ID + "\x00" + res.Team + "\x00" + res.Stage + "\x00")
	b.WriteString(strconv.FormatBool(res.Persistent) + strconv.FormatBool(r.Context.JITGrant) + strconv.FormatBool(r.Context.SecondApproval) +
		strconv.FormatBool(r.Context.InChangeWindow) + strconv.FormatBool(r.Context.Incident) + strconv.FormatBool(r.Context.OpenIncident))
	return b.String()
}
