package policy

import (
	"iter"
	"sync"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// policyIndex hands Cedar only the policies whose scope can match a
// request's action and resource type, and of the team-specific ones
// (`when { resource.owner == Team::"x" && ... }` on environments and
// workloads) only those of the resource's team. The action hierarchy is the
// schema's, fixed at load, so the subset decides exactly as the whole set:
// a policy left out could never apply (a false first conjunct makes the
// condition false without evaluating the rest, so without errors either).
// With 100 policies most of them are team rules; a request evaluates its
// own team's and the common ones.
type policyIndex struct {
	all     []policyEntry
	actions map[cedar.EntityUID]cedar.Entity

	mu     sync.RWMutex
	byKey  map[indexKey]*scoped
	maxKey int
}

type policyEntry struct {
	id       cedar.PolicyID
	policy   *cedar.Policy
	action   xast.IsActionScopeNode
	resource xast.IsResourceScopeNode
	// ownerTeam is X when the first condition is `when { resource.owner ==
	// Team::"X" && ... }`.
	ownerTeam string
}

// scoped are the policies of one action and resource type: common ones
// and, for owned resources, the team-specific ones by team.
type scoped struct {
	common []policyEntry
	byTeam map[string][]policyEntry
}

type indexKey struct {
	action   cedar.EntityUID
	resource cedar.EntityType
}

// policyList is a cedar.PolicyIterator over two slices.
type policyList struct{ a, b []policyEntry }

func (l policyList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, e := range l.a {
			if !yield(e.id, e.policy) {
				return
			}
		}
		for _, e := range l.b {
			if !yield(e.id, e.policy) {
				return
			}
		}
	}
}

func newPolicyIndex(set *cedar.PolicySet, actions map[cedar.EntityUID]cedar.Entity) *policyIndex {
	ix := &policyIndex{actions: actions, byKey: map[indexKey]*scoped{}, maxKey: 4096}
	for id, p := range set.All() {
		a := (*xast.Policy)(p.AST())
		ix.all = append(ix.all, policyEntry{id: id, policy: p, action: a.Action, resource: a.Resource, ownerTeam: ownerTeamOf(a)})
	}
	return ix
}

// ownedTypes are the resource types whose entity always has an owner.
var ownedTypes = map[cedar.EntityType]bool{TypeEnvironment: true, TypeWorkload: true}

// For returns the policies that may apply to action on a resource of typ
// owned by team.
func (ix *policyIndex) For(action cedar.EntityUID, typ cedar.EntityType, team string) policyList {
	k := indexKey{action, typ}
	ix.mu.RLock()
	sc, ok := ix.byKey[k]
	ix.mu.RUnlock()
	if !ok {
		sc = &scoped{byTeam: map[string][]policyEntry{}}
		for _, e := range ix.all {
			if !ix.actionMay(e.action, action) || !resourceMay(e.resource, typ) {
				continue
			}
			if e.ownerTeam != "" && ownedTypes[typ] {
				sc.byTeam[e.ownerTeam] = append(sc.byTeam[e.ownerTeam], e)
			} else {
				sc.common = append(sc.common, e)
			}
		}
		ix.mu.Lock()
		if len(ix.byKey) >= ix.maxKey {
			clear(ix.byKey) // requests name unknown actions only by mistake
		}
		ix.byKey[k] = sc
		ix.mu.Unlock()
	}
	return policyList{sc.common, sc.byTeam[team]}
}

// ownerTeamOf finds X in a first condition `when { resource.owner ==
// Team::"X" && ... }` (either side of ==, the leftmost conjunct).
func ownerTeamOf(p *xast.Policy) string {
	if len(p.Conditions) == 0 || p.Conditions[0].Condition != xast.ConditionWhen {
		return ""
	}
	n := p.Conditions[0].Body
	for {
		and, ok := n.(xast.NodeTypeAnd)
		if !ok {
			break
		}
		n = and.Left
	}
	eq, ok := n.(xast.NodeTypeEquals)
	if !ok {
		return ""
	}
	for _, sides := range [][2]xast.IsNode{{eq.Left, eq.Right}, {eq.Right, eq.Left}} {
		acc, ok := sides[0].(xast.NodeTypeAccess)
		if !ok || acc.Value != "owner" {
			continue
		}
		if v, ok := acc.Arg.(xast.NodeTypeVariable); !ok || v.Name != "resource" {
			continue
		}
		val, ok := sides[1].(xast.NodeValue)
		if !ok {
			continue
		}
		if uid, ok := val.Value.(cedar.EntityUID); ok && uid.Type == TypeTeam {
			return string(uid.ID)
		}
	}
	return ""
}

func (ix *policyIndex) actionMay(scope xast.IsActionScopeNode, action cedar.EntityUID) bool {
	switch s := scope.(type) {
	case xast.ScopeTypeAll:
		return true
	case xast.ScopeTypeEq:
		return s.Entity == action
	case xast.ScopeTypeIn:
		return ix.actionIn(action, s.Entity)
	case xast.ScopeTypeInSet:
		for _, e := range s.Entities {
			if ix.actionIn(action, e) {
				return true
			}
		}
		return false
	}
	return true // a scope this index does not know: keep the policy
}

// actionIn: action == group, or group is among its ancestors.
func (ix *policyIndex) actionIn(action, group cedar.EntityUID) bool {
	seen := map[cedar.EntityUID]bool{}
	todo := []cedar.EntityUID{action}
	for len(todo) > 0 {
		cur := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if cur == group {
			return true
		}
		if seen[cur] {
			continue
		}
		seen[cur] = true
		if a, ok := ix.actions[cur]; ok {
			for p := range a.Parents.All() {
				todo = append(todo, p)
			}
		}
	}
	return false
}

func resourceMay(scope xast.IsResourceScopeNode, typ cedar.EntityType) bool {
	switch s := scope.(type) {
	case xast.ScopeTypeEq:
		return s.Entity.Type == typ
	case xast.ScopeTypeIs:
		return s.Type == typ
	case xast.ScopeTypeIsIn:
		return s.Type == typ
	}
	return true // all, in (an entity of any type may be in it), unknown
}
