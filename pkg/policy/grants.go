package policy

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/events"
)

// SubjectGrantsUsed carries {grant_ids, at}: a decision allowed because of
// these grants (core NATS, fire and forget; the access service records the
// last use for access reviews).
const SubjectGrantsUsed = "pave.access.grants.used"

// Kinds of grant.
const (
	GrantKindAccess     = "access"
	GrantKindBreakGlass = "break_glass"
	// GrantKindTeardown is a second person's approval of one persistent
	// production environment's teardown: it elevates no role, it only
	// makes context.second_approval true for that environment.
	GrantKindTeardown = "teardown"
)

// States of a grant.
const (
	GrantScheduled = "scheduled"
	GrantActive    = "active"
	GrantEnded     = "ended"
)

// Grant is a time-bounded role for one principal on a team, one of its
// environments or a stage.
type Grant struct {
	ID         string            `json:"id"`
	Kind       string            `json:"kind"`
	Principal  string            `json:"principal"`
	Team       string            `json:"team"`
	Role       string            `json:"role,omitempty"`
	Scope      events.GrantScope `json:"scope"`
	StartsAt   time.Time         `json:"starts_at"`
	ExpiresAt  time.Time         `json:"expires_at"`
	RequestID  string            `json:"request_id,omitempty"`
	IncidentID string            `json:"incident_id,omitempty"`
	Reason     string            `json:"reason,omitempty"`
	ApprovedBy []string          `json:"approved_by,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	State      string            `json:"state"`
	// Ended* say why and when it stopped counting.
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	EndedReason string     `json:"ended_reason,omitempty"`
	EndedBy     string     `json:"ended_by,omitempty"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	// Announced* record that the event went out (a restart resends what
	// was not).
	ActivationAnnounced bool `json:"activation_announced,omitempty"`
	EndAnnounced        bool `json:"end_announced,omitempty"`
}

// CountsAt reports whether the grant takes part in decisions at t: started,
// not expired (even before the expirer marks it), not ended early.
func (g Grant) CountsAt(t time.Time) bool {
	return g.State != GrantEnded && !t.Before(g.StartsAt) && t.Before(g.ExpiresAt)
}

// Covers reports whether the grant's scope includes the resource.
func (g Grant) Covers(r Resource) bool {
	if r.Team != g.Team {
		return false
	}
	switch g.Scope.Kind {
	case events.GrantScopeTeam:
		return true
	case events.GrantScopeEnvironment:
		return r.Type == TypeEnvironment && r.ID == g.Scope.EnvironmentID
	case events.GrantScopeStage:
		return r.Type == TypeEnvironment && r.Stage == g.Scope.Stage
	}
	return false
}

// neverElevated are the identity and governance actions: the schema's
// "team-review", "team-manage" and "platform-write" groups (members,
// service accounts, tokens, applications, budgets, quotas, pools, roles,
// teams) and deciding on access. A grant never counts for them: access given
// just in time cannot approve more access, review itself, or make itself
// permanent. TestNeverElevatedCoversTheGovernanceGroups keeps this list
// and the schema together.
var neverElevated = map[string]bool{
	// team-review
	"access-request:review": true, "grant:revoke": true, "access-review:create": true, "access-review:decide": true,
	// team-manage
	"member:write": true, "service-account:write": true, "token:issue": true, "budget:write": true, "application:write": true,
	"automation:write": true,
	// platform-write
	"team:create": true, "team:delete": true, "pool:write": true, "quota:write": true, "platform-role:write": true,
	"token:issue-any": true, "server:declare-gone": true,
}

// GovernanceGroups are the action groups whose actions grants never reach.
var GovernanceGroups = []string{"team-review", "team-manage", "platform-write"}

// NeverElevated reports whether grants are ignored for action.
func NeverElevated(action string) bool { return neverElevated[action] }

// ElevatingRoles are the team roles a grant may usefully carry: admin adds
// only team-manage actions, which grants never reach.
func ElevatingRoles() []string { return []string{"viewer", "developer", "maintainer"} }

// RoleRank orders team roles (viewer 1 .. admin 4; anything else 0).
func RoleRank(role string) int {
	for i, r := range teamRoles {
		if r == role {
			return i + 1
		}
	}
	return 0
}

// Grants is an in-memory index of grants by principal, fed by Put (the
// access service from its store, the gateway from the grant events). Apply adds what the
// principal's grants say to a decision request.
type Grants struct {
	mu          sync.RWMutex
	byPrincipal map[string]map[string]Grant
	windows     *ChangeWindows
	now         func() time.Time

	notify func(GrantsUsed)
	// incidents are the open incidents (nil: none).
	incidents *Incidents

	usedMu   sync.Mutex
	lastSent map[string]time.Time
}

// NewGrants is an empty index; windows may be nil (never in a window).
func NewGrants(windows *ChangeWindows) *Grants {
	return &Grants{byPrincipal: map[string]map[string]Grant{}, windows: windows, now: time.Now,
		lastSent: map[string]time.Time{}}
}

// Put adds or replaces a grant.
func (g *Grants) Put(gr Grant) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.byPrincipal[gr.Principal]
	if gr.State == GrantEnded {
		delete(m, gr.ID)
		if len(m) == 0 {
			delete(g.byPrincipal, gr.Principal)
		}
		return
	}
	if m == nil {
		m = map[string]Grant{}
		g.byPrincipal[gr.Principal] = m
	}
	m[gr.ID] = gr
}

// Delete drops a grant.
func (g *Grants) Delete(principal, id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.byPrincipal[principal], id)
}

// Apply returns r with the principal's grants applied at now, and the ids
// of the grants that changed it: an access or break-glass grant covering
// the resource raises the principal's role in the team to the granted one
// for this decision; at maintainer or above it sets context.jit_grant; a
// break-glass grant sets context.incident; another person's teardown
// approval of this environment sets context.second_approval.
// context.in_change_window comes from the change windows.
//
// Grants never count for identity and governance actions (NeverElevated).
func (g *Grants) Apply(r Request, now time.Time) (Request, []string) {
	if g == nil {
		return r, nil
	}
	r.Context.OpenIncident = g.incidents.Covers(r.Resource)
	if neverElevated[r.Action] {
		r.Context.InChangeWindow = g.windows.Contains(now)
		return r, nil
	}
	r.Context.InChangeWindow = g.windows.Contains(now)
	g.mu.RLock()
	mine := g.byPrincipal[r.Principal.ID]
	if len(mine) == 0 {
		g.mu.RUnlock()
		return r, nil
	}
	var used []string
	best := ""
	for _, gr := range mine {
		if !gr.CountsAt(now) || !gr.Covers(r.Resource) {
			continue
		}
		switch gr.Kind {
		case GrantKindTeardown:
			r.Context.SecondApproval = true
			used = append(used, gr.ID)
			continue
		case GrantKindBreakGlass:
			r.Context.Incident = true
		}
		used = append(used, gr.ID)
		if RoleRank(gr.Role) >= RoleRank("maintainer") {
			r.Context.JITGrant = true
		}
		if RoleRank(gr.Role) > RoleRank(best) {
			best = gr.Role
		}
	}
	g.mu.RUnlock()
	if best != "" && RoleRank(best) > RoleRank(r.Principal.TeamRoles[r.Resource.Team]) {
		r.Principal = elevate(r.Principal, r.Resource.Team, best)
	}
	return r, used
}

func elevate(p authn.Principal, team, role string) authn.Principal {
	roles := make(map[string]string, len(p.TeamRoles)+1)
	for k, v := range p.TeamRoles {
		roles[k] = v
	}
	roles[team] = role
	p.TeamRoles = roles
	member := false
	for _, t := range p.Teams {
		member = member || t == team
	}
	if !member {
		p.Teams = append(append([]string{}, p.Teams...), team)
	}
	return p
}

// Active lists a principal's grants that count at now.
func (g *Grants) Active(principal string, now time.Time) []Grant {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []Grant
	for _, gr := range g.byPrincipal[principal] {
		if gr.CountsAt(now) {
			out = append(out, gr)
		}
	}
	return out
}

// Len is the number of grants indexed.
func (g *Grants) Len() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := 0
	for _, m := range g.byPrincipal {
		n += len(m)
	}
	return n
}

// GrantsUsed is the message on SubjectGrantsUsed.
type GrantsUsed struct {
	GrantIDs []string  `json:"grant_ids"`
	At       time.Time `json:"at"`
}

// Publisher sends a core NATS message (*nats.Conn is one).
type Publisher interface {
	Publish(subject string, data []byte) error
}

// PublishUsed hands Used's notes to p on SubjectGrantsUsed, best effort:
// last use is advisory.
func PublishUsed(p Publisher) func(GrantsUsed) {
	return func(u GrantsUsed) {
		raw, _ := json.Marshal(u) // ids and a time always encode
		_ = p.Publish(SubjectGrantsUsed, raw)
	}
}

// maxLastSent is how many grants' last notes Used remembers before it
// forgets those past their minute.
const maxLastSent = 4096

// Notify makes Used hand its notes to send (publish them on
// SubjectGrantsUsed); without it Used does nothing.
func (g *Grants) Notify(send func(GrantsUsed)) { g.notify = send }

// Used tells the access service (at most once a minute per grant) that
// grants made a decision allow.
func (g *Grants) Used(ids []string, at time.Time) {
	if g == nil || g.notify == nil || len(ids) == 0 {
		return
	}
	g.usedMu.Lock()
	if len(g.lastSent) >= maxLastSent { // bounded: forget notes older than their minute
		for id, t := range g.lastSent {
			if at.Sub(t) >= time.Minute {
				delete(g.lastSent, id)
			}
		}
	}
	var send []string
	for _, id := range ids {
		if at.Sub(g.lastSent[id]) >= time.Minute {
			g.lastSent[id] = at
			send = append(send, id)
		}
	}
	g.usedMu.Unlock()
	if len(send) == 0 {
		return
	}
	g.notify(GrantsUsed{GrantIDs: send, At: at.UTC()})
}
