package ports

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/policy"
)

// The shipped policies of a credential read (credentials.cedar): the
// owner login for maintainers and platform admins, in production only
// with a just-in-time grant; one's own grant logins for any member.
func TestCredentialPoliciesByRoleAndStage(t *testing.T) {
	p, err := policy.Load(policy.Config{PoliciesDir: "../../../../deploy/policies"})
	require.NoError(t, err)
	e := policy.New(p)
	member := func(role string) authn.Principal {
		return authn.Principal{ID: role + "-1", Kind: authn.KindUser, Teams: []string{"alpha"}, TeamRoles: map[string]string{"alpha": role}}
	}
	admin := authn.Principal{ID: "root", Kind: authn.KindUser, Roles: []string{authn.RolePlatformAdmin}}
	outsider := authn.Principal{ID: "eve", Kind: authn.KindUser, Teams: []string{"beta"}, TeamRoles: map[string]string{"beta": "admin"}}
	tests := []struct {
		name   string
		who    authn.Principal
		action string
		stage  string
		jit    bool
		want   bool
	}{
		{"viewer, owner login", member("viewer"), ownerCredentialsAction, "dev", false, false},
		{"developer, owner login", member("developer"), ownerCredentialsAction, "dev", false, false},
		{"developer with a grant, owner login of prod", member("developer"), ownerCredentialsAction, "prod", true, false},
		{"maintainer, owner login of dev", member("maintainer"), ownerCredentialsAction, "dev", false, true},
		{"admin, owner login of dev", member("admin"), ownerCredentialsAction, "dev", false, true},
		{"maintainer, owner login of prod", member("maintainer"), ownerCredentialsAction, "prod", false, false},
		{"maintainer with a grant, owner login of prod", member("maintainer"), ownerCredentialsAction, "prod", true, true},
		{"platform admin, owner login of prod", admin, ownerCredentialsAction, "prod", false, false},
		{"platform admin with a grant, owner login of prod", admin, ownerCredentialsAction, "prod", true, true},
		{"another team's admin, owner login", outsider, ownerCredentialsAction, "dev", false, false},
		{"viewer, own grant logins", member("viewer"), grantCredentialsAction, "prod", false, true},
		{"another team's admin, grant logins", outsider, grantCredentialsAction, "dev", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(policy.Request{Principal: tt.who, Action: tt.action,
				Resource: policy.Resource{Type: policy.TypeEnvironment, ID: "env-1", Team: "alpha", Stage: tt.stage, Persistent: true},
				Context:  policy.Context{JITGrant: tt.jit}})
			assert.Equal(t, tt.want, d.Allowed, "policies %v", d.Policies)
		})
	}
}
