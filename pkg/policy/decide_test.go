package policy_test

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/policy"
)

func shipped(t *testing.T) *policy.Engine {
	t.Helper()
	p, err := policy.Load(policy.Config{PoliciesDir: "../../deploy/policies"})
	require.NoError(t, err)
	return policy.New(p)
}

func member(id, team, role string) authn.Principal {
	return authn.Principal{ID: id, Kind: authn.KindUser, Teams: []string{team}, TeamRoles: map[string]string{team: role}}
}

func env(team, stage string, persistent bool) policy.Resource {
	return policy.Resource{Type: policy.TypeEnvironment, ID: "e1", Team: team, Stage: stage, Persistent: persistent}
}

func TestShippedPoliciesDecideByRoleStageAndTeam(t *testing.T) {
	e := shipped(t)
	admin := authn.Principal{ID: "root", Kind: authn.KindUser, Roles: []string{authn.RolePlatformAdmin}}
	auditor := authn.Principal{ID: "aud", Kind: authn.KindUser, Roles: []string{authn.RoleAuditor}}
	tests := []struct {
		name     string
		p        authn.Principal
		action   string
		res      policy.Resource
		allowed  bool
		member   bool
		policies []string
	}{
		{"viewer reads", member("v", "a", "viewer"), "environment:read", env("a", "dev", false), true, true, []string{"viewer-reads-environments"}},
		{"viewer cannot create", member("v", "a", "viewer"), "environment:create", env("a", "dev", false), false, true, nil},
		{"developer creates dev", member("d", "a", "developer"), "environment:create", env("a", "dev", false), true, true, []string{"developer-writes-environments"}},
		{"developer cannot create prod", member("d", "a", "developer"), "environment:create", env("a", "prod", true), false, true, []string{"production-needs-maintainer"}},
		{"maintainer creates prod", member("m", "a", "maintainer"), "environment:create", env("a", "prod", true), true, true, []string{"developer-writes-environments"}},
		{"admin inherits maintainer", member("ad", "a", "admin"), "environment:update", env("a", "prod", true), true, true, []string{"developer-writes-environments"}},
		{"maintainer cannot tear down persistent prod alone", member("m", "a", "maintainer"), "environment:delete", env("a", "prod", true), false, true, []string{"production-teardown-needs-second-person"}},
		{"maintainer tears down ephemeral prod", member("m", "a", "maintainer"), "environment:delete", env("a", "prod", false), true, true, []string{"developer-writes-environments"}},
		{"other team", member("d", "a", "developer"), "environment:read", env("b", "dev", false), false, false, nil},
		{"platform admin", admin, "environment:delete", env("b", "dev", false), true, true, []string{"platform-admin"}},
		{"auditor reads", auditor, "audit:read", policy.TeamResource("b"), true, true, []string{"auditor-reads-everything"}},
		{"auditor cannot write", auditor, "environment:create", env("b", "dev", false), false, true, nil},
		{"team admin manages members", member("ad", "a", "admin"), "member:write", policy.TeamResource("a"), true, true, []string{"admin-manages-team"}},
		{"maintainer cannot manage members", member("m", "a", "maintainer"), "member:write", policy.TeamResource("a"), false, true, nil},
		{"anyone reads templates", member("v", "a", "viewer"), "template:read", policy.PlatformResource, true, true, []string{"authenticated-platform-reads"}},
		{"only admins create teams", member("ad", "a", "admin"), "team:create", policy.PlatformResource, false, true, nil},
	}
	for _, tt := range tests {
		d := e.Decide(policy.Request{Principal: tt.p, Action: tt.action, Resource: tt.res})
		assert.Equal(t, tt.allowed, d.Allowed, tt.name)
		assert.Equal(t, tt.member, d.Member, tt.name)
		assert.Equal(t, tt.policies, d.Policies, tt.name)
		assert.Empty(t, d.Errors, tt.name)
	}
}

func TestTheCacheAnswersLikeTheEngine(t *testing.T) {
	e := shipped(t)
	req := policy.Request{Principal: member("d", "a", "developer"), Action: "environment:create", Resource: env("a", "prod", true)}
	first, second := e.Decide(req), e.Decide(req)
	assert.Equal(t, first, second)
	req.Principal.TeamRoles["a"] = "maintainer" // a new role is a new key
	assert.True(t, e.Decide(req).Allowed)
}

func TestBuiltinPoliciesAreTheShippedOnes(t *testing.T) {
	files, err := filepath.Glob("../../deploy/policies/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		want, err := os.ReadFile(f)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("policies", filepath.Base(f)))
		require.NoError(t, err, "copy %s to pkg/policy/policies", f)
		assert.Equal(t, string(want), string(got), "pkg/policy/policies/%s differs from %s", filepath.Base(f), f)
	}
	p, err := policy.Load(policy.Config{})
	require.NoError(t, err)
	assert.Positive(t, p.Len())
}

func TestAnInvalidPolicyNamesFileLineAndReason(t *testing.T) {
	schema, err := os.ReadFile("../../deploy/policies/schema.cedarschema")
	require.NoError(t, err)
	tests := []struct {
		name, policy, want string
	}{
		{"syntax", "@id(\"x\")\npermit (principal, action, resource)\nwhen { principal. };\n", "bad.cedar:3"},
		{"unknown attribute", "\n@id(\"x\")\npermit (principal, action == Action::\"environment:read\", resource is Environment)\nwhen { resource.colour == \"red\" };\n", "bad.cedar:2"},
		{"unknown action", "@id(\"x\")\npermit (principal, action == Action::\"nuke\", resource);\n", "bad.cedar:1"},
		{"no id", "permit (principal, action, resource);\n", "no @id"},
	}
	for _, tt := range tests {
		fsys := fstest.MapFS{
			"schema.cedarschema": {Data: schema},
			"bad.cedar":          {Data: []byte(tt.policy)},
		}
		_, err := policy.LoadFS(fsys, "cfg")
		var pe *policy.PolicyError
		require.ErrorAs(t, err, &pe, tt.name)
		assert.Contains(t, err.Error(), tt.want, tt.name)
		t.Log(err)
	}
}
