package policy

import (
	"strings"
	"sync"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/pave-platform/pave/pkg/authn"
)

// Entity types of the schema.
const (
	TypeUser           cedar.EntityType = "User"
	TypeServiceAccount cedar.EntityType = "ServiceAccount"
	TypeRole           cedar.EntityType = "Role"
	TypeTeam           cedar.EntityType = "Team"
	TypePlatform       cedar.EntityType = "Platform"
	TypeEnvironment    cedar.EntityType = "Environment"
	TypeWorkload       cedar.EntityType = "Workload"
)

// teamRoles are the team roles from the least to the most privileged.
var teamRoles = []string{"viewer", "developer", "maintainer", "admin"}

// Resource is what a decision is about. Team is the owning team (empty
// for the platform); Stage and Persistent describe environments.
type Resource struct {
	Type       cedar.EntityType `json:"type"`
	ID         string           `json:"id"`
	Team       string           `json:"team,omitempty"`
	Stage      string           `json:"stage,omitempty"`
	Persistent bool             `json:"persistent,omitempty"`
}

// PlatformResource is the platform as a whole.
var PlatformResource = Resource{Type: TypePlatform, ID: "pave"}

// TeamResource is a team's own objects (members, quotas, budgets, ...).
func TeamResource(team string) Resource { return Resource{Type: TypeTeam, ID: team, Team: team} }

// Context is what a request adds beyond who and what.
type Context struct {
	JITGrant       bool `json:"jit_grant,omitempty"`
	SecondApproval bool `json:"second_approval,omitempty"`
	InChangeWindow bool `json:"in_change_window,omitempty"`
	Incident       bool `json:"incident,omitempty"`
	// OpenIncident: an incident tool reports an open incident of the
	// resource's team (its stage, when the incident names one).
	OpenIncident bool `json:"open_incident,omitempty"`
}

func (c Context) record() cedar.Record {
	return cedar.NewRecord(cedar.RecordMap{
		"jit_grant":        cedar.Boolean(c.JITGrant),
		"second_approval":  cedar.Boolean(c.SecondApproval),
		"in_change_window": cedar.Boolean(c.InChangeWindow),
		"incident":         cedar.Boolean(c.Incident),
		"open_incident":    cedar.Boolean(c.OpenIncident),
	})
}

// PrincipalUID is the Cedar entity of a principal.
func PrincipalUID(p authn.Principal) cedar.EntityUID {
	if p.Kind == authn.KindServiceAccount {
		return cedar.NewEntityUID(TypeServiceAccount, cedar.String(p.ID))
	}
	return cedar.NewEntityUID(TypeUser, cedar.String(p.ID))
}

func roleUID(name string) cedar.EntityUID { return cedar.NewEntityUID(TypeRole, cedar.String(name)) }

func principalEntity(p authn.Principal) cedar.Entity {
	parents := make([]cedar.EntityUID, 0, len(p.TeamRoles)+len(p.Roles))
	for team, role := range p.TeamRoles {
		parents = append(parents, roleUID(team+"/"+role))
	}
	for _, r := range p.Roles {
		parents = append(parents, roleUID(r))
	}
	return cedar.Entity{UID: PrincipalUID(p), Parents: cedar.NewEntityUIDSet(parents...)}
}

func (r Resource) uid() cedar.EntityUID { return cedar.NewEntityUID(r.Type, cedar.String(r.ID)) }

func (r Resource) entity(cache *derivedCache) cedar.Entity {
	attrs := cedar.RecordMap{}
	switch r.Type {
	case TypeEnvironment:
		attrs["owner"] = teamUID(r.Team)
		attrs["stage"] = cedar.String(r.Stage)
		attrs["persistent"] = cedar.Boolean(r.Persistent)
	case TypeWorkload:
		attrs["owner"] = teamUID(r.Team)
	case TypeTeam:
		return cache.get(teamUID(r.ID))
	}
	return cedar.Entity{UID: r.uid(), Attributes: cedar.NewRecord(attrs)}
}

func teamUID(team string) cedar.EntityUID { return cedar.NewEntityUID(TypeTeam, cedar.String(team)) }

func teamEntity(team string) cedar.Entity {
	return cedar.Entity{UID: teamUID(team), Attributes: cedar.NewRecord(cedar.RecordMap{
		"viewers":     roleUID(team + "/viewer"),
		"developers":  roleUID(team + "/developer"),
		"maintainers": roleUID(team + "/maintainer"),
		"admins":      roleUID(team + "/admin"),
	})}
}

// roleEntity places a team role in the hierarchy: admin in maintainer in
// developer in viewer in the team. Platform roles have no parent.
func roleEntity(name string) cedar.Entity {
	e := cedar.Entity{UID: roleUID(name)}
	team, role, ok := strings.Cut(name, "/")
	if !ok {
		return e
	}
	for i, r := range teamRoles {
		if r != role {
			continue
		}
		if i == 0 {
			e.Parents = cedar.NewEntityUIDSet(teamUID(team))
		} else {
			e.Parents = cedar.NewEntityUIDSet(roleUID(team + "/" + teamRoles[i-1]))
		}
	}
	return e
}

// requestEntities answers Cedar's entity lookups for one request: the
// principal and resource of the request, teams and roles by their names
// (they are derived, not stored), and anything else from base.
type requestEntities struct {
	// action is the request's action, asked for by every policy's scope.
	action    cedar.Entity
	hasAction bool
	principal cedar.Entity
	resource  cedar.Entity
	actions   map[cedar.EntityUID]cedar.Entity
	base      types.EntityGetter
	derived   *derivedCache
}

func (e requestEntities) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	switch {
	case uid == e.action.UID:
		return e.action, e.hasAction
	case uid == e.principal.UID:
		return e.principal, true
	case uid == e.resource.UID:
		return e.resource, true
	case uid.Type == TypeTeam || uid.Type == TypeRole:
		return e.derived.get(uid), true
	case uid.Type == "Action":
		a, ok := e.actions[uid]
		return a, ok
	case e.base != nil:
		return e.base.Get(uid)
	}
	return cedar.Entity{}, false
}

// derivedCache keeps the team and role entities built from their names:
// they depend on nothing else, so building each once saves most of a
// decision's allocations. Bounded: past max entries it starts again.
type derivedCache struct {
	mu  sync.RWMutex
	m   map[cedar.EntityUID]cedar.Entity
	max int
}

func newDerivedCache(max int) *derivedCache {
	return &derivedCache{m: map[cedar.EntityUID]cedar.Entity{}, max: max}
}

func (c *derivedCache) get(uid cedar.EntityUID) cedar.Entity {
	c.mu.RLock()
	e, ok := c.m[uid]
	c.mu.RUnlock()
	if ok {
		return e
	}
	if uid.Type == TypeTeam {
		e = teamEntity(string(uid.ID))
	} else {
		e = roleEntity(string(uid.ID))
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[uid] = e
	c.mu.Unlock()
	return e
}
