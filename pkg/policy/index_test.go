package policy

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/cedar-policy/cedar-go"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
)

// The index hands Cedar a subset; the decision (and the policies named)
// must be the same as with every policy, for every action of the schema
// and every resource type.
func TestPolicyIndexDecidesAsTheWholeSet(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, name := range []string{"schema.cedarschema", "roles.cedar", "production.cedar"} {
		raw, err := os.ReadFile("../../deploy/policies/" + name)
		require.NoError(t, err)
		fsys[name] = &fstest.MapFile{Data: raw}
	}
	var extra []byte
	for i := range 20 {
		extra = fmt.Appendf(extra, "@id(\"t%d\")\nforbid (principal, action in Action::\"team-write\", resource is Environment)\nwhen { resource.owner == Team::\"team%d\" && context.second_approval };\n", i, i)
		extra = fmt.Appendf(extra, "@id(\"r%d\")\npermit (principal, action == Action::\"budget:read\", resource == Team::\"team%d\");\n", i, i)
	}
	fsys["extra.cedar"] = &fstest.MapFile{Data: extra}
	p, err := LoadFS(fsys, "test")
	require.NoError(t, err)

	update := cedar.NewEntityUID("Action", "environment:update")
	l := p.index.For(update, TypeEnvironment, "team1")
	require.Len(t, l.b, 1, "team1's own rule, apart")
	for _, e := range l.a {
		require.Empty(t, e.ownerTeam, "no other team's rule")
	}
	n := 0
	for range p.index.For(cedar.NewEntityUID("Action", "environment:read"), TypeEnvironment, "team1").All() {
		n++
	}
	require.Less(t, n, p.Len()/2, "a read skips the write rules")

	var actions []string
	for uid := range p.actions {
		actions = append(actions, string(uid.ID))
	}
	actions = append(actions, "route:unmapped")
	types := []cedar.EntityType{TypeTeam, TypeEnvironment, TypeWorkload, TypePlatform}
	roles := []string{"", "viewer", "developer", "maintainer", "admin"}
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 5000 {
		team := fmt.Sprintf("team%d", r.IntN(4))
		pr := authn.Principal{ID: fmt.Sprintf("u%d", i), Kind: authn.KindUser}
		if role := roles[r.IntN(len(roles))]; role != "" {
			pr.Teams, pr.TeamRoles = []string{team}, map[string]string{team: role}
		}
		if r.IntN(10) == 0 {
			pr.Roles = []string{[]string{authn.RolePlatformAdmin, authn.RoleAuditor}[r.IntN(2)]}
		}
		res := Resource{Type: types[r.IntN(len(types))], ID: "x", Team: fmt.Sprintf("team%d", r.IntN(4)),
			Stage: []string{"dev", "prod"}[r.IntN(2)], Persistent: r.IntN(2) == 0}
		if res.Type == TypeTeam {
			res.ID = res.Team
		}
		if res.Type == TypePlatform {
			res = PlatformResource
		}
		req := Request{Principal: pr, Action: actions[r.IntN(len(actions))], Resource: res,
			Context: Context{JITGrant: r.IntN(2) == 0, SecondApproval: r.IntN(2) == 0, InChangeWindow: r.IntN(2) == 0, Incident: r.IntN(2) == 0}}
		e := New(p, WithCache(0))
		got := e.Decide(req)

		ents := requestEntities{principal: principalEntity(pr), resource: res.entity(e.derived), actions: p.actions, derived: e.derived}
		dec, diag := cedar.Authorize(p.set, ents, cedar.Request{Principal: ents.principal.UID,
			Action: cedar.NewEntityUID("Action", cedar.String(req.Action)), Resource: ents.resource.UID, Context: req.Context.record()})
		var want []string
		for _, reason := range diag.Reasons {
			want = append(want, string(reason.PolicyID))
		}
		slices.Sort(want)
		require.Equal(t, dec == cedar.Allow, got.Allowed, "%+v", req)
		require.Equal(t, want, got.Policies, "%+v", req)
	}
}
