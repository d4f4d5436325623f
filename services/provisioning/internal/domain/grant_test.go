package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func TestGrantCovers(t *testing.T) {
	env := domain.Target{EnvironmentID: "env-1", Team: "payments", Stage: "prod"}
	tests := []struct {
		name string
		give domain.Grant
		want bool
	}{
		{"team scope", domain.Grant{Team: "payments", ScopeKind: domain.ScopeTeam}, true},
		{"another team", domain.Grant{Team: "marketing", ScopeKind: domain.ScopeTeam}, false},
		{"this environment", domain.Grant{Team: "payments", ScopeKind: domain.ScopeEnvironment, EnvironmentID: "env-1"}, true},
		{"another environment", domain.Grant{Team: "payments", ScopeKind: domain.ScopeEnvironment, EnvironmentID: "env-2"}, false},
		{"another team's grant on this environment", domain.Grant{Team: "marketing", ScopeKind: domain.ScopeEnvironment, EnvironmentID: "env-1"}, false},
		{"this stage", domain.Grant{Team: "payments", ScopeKind: domain.ScopeStage, Stage: "prod"}, true},
		{"another stage", domain.Grant{Team: "payments", ScopeKind: domain.ScopeStage, Stage: "dev"}, false},
		{"unknown scope", domain.Grant{Team: "payments", ScopeKind: "planet"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.give.Covers(env), tt.name)
	}
	assert.False(t, domain.Grant{Team: "payments", ScopeKind: domain.ScopeStage}.Covers(domain.Target{Team: "payments"}),
		"an environment without a stage is in no stage grant")
}

func TestGrantLiveAndWrites(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	g := domain.Grant{Role: "viewer", ExpiresAt: now.Add(time.Second)}
	assert.True(t, g.Live(now))
	assert.False(t, g.Live(now.Add(time.Second)), "not a moment past its expiry")
	g.Revoked = true
	assert.False(t, g.Live(now))
	assert.False(t, g.Writes())
	for _, role := range []string{"developer", "maintainer", "admin"} {
		assert.True(t, domain.Grant{Role: role}.Writes(), role)
	}
}

func TestCredentialNameIsDeterministicShortAndNotAResourceName(t *testing.T) {
	a := domain.CredentialName("grt-1", "env-1-db")
	assert.Equal(t, a, domain.CredentialName("grt-1", "env-1-db"))
	assert.NotEqual(t, a, domain.CredentialName("grt-1", "env-1-cache"), "one login per resource")
	assert.NotEqual(t, a, domain.CredentialName("grt-2", "env-1-db"), "one login per grant")
	assert.True(t, strings.HasPrefix(a, domain.GrantPrefix))
	assert.LessOrEqual(t, len(a), 63, "a PostgreSQL identifier")
	assert.False(t, strings.HasPrefix(a, domain.Prefix), "the orphan sweep never takes it for a resource")
}
