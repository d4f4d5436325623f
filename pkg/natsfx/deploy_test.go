package natsfx_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/natsfx"
)

// The deployed NATS (docker-compose mounts deploy/nats) has the users and
// permissions of the code: deploy/nats/auth.conf is AuthorizationConf,
// and the server's own loader reads from it exactly RestrictedUsers'
// permissions, each password from its variable.
func TestDeployedNATSUsersAreTheCodes(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "nats")
	file := filepath.Join(dir, "auth.conf")
	if os.Getenv("PAVE_UPDATE_NATS_CONF") == "1" {
		require.NoError(t, os.WriteFile(file, []byte(natsfx.AuthorizationConf()), 0o644))
	}
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, natsfx.AuthorizationConf(), string(raw),
		"deploy/nats/auth.conf is stale: PAVE_UPDATE_NATS_CONF=1 go test ./pkg/natsfx/ -run TestDeployedNATSUsers")

	restricted := natsfx.RestrictedUsers()
	want := map[string]string{natsfx.PlatformUser: "platform-pw", natsfx.TenantUser: "tenant-pw"}
	for name := range restricted {
		want[name] = name + "-pw"
	}
	for name, pw := range want {
		t.Setenv(natsfx.PasswordVariable(name), pw)
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	require.NoError(t, err)
	got := map[string]string{}
	for _, u := range opts.Users {
		got[u.Username] = u.Password
		if u.Username == natsfx.TenantUser {
			require.NotNil(t, u.Account, "the tenants' login is in an account of its own")
			assert.Equal(t, natsfx.TenantAccount, u.Account.Name)
			continue
		}
		assert.Nil(t, u.Account, "%s is in the platform's account", u.Username)
		if u.Username == natsfx.PlatformUser {
			assert.Nil(t, u.Permissions, "the platform's user holds every service's subjects")
			continue
		}
		p, ok := restricted[u.Username]
		require.True(t, ok, "user %s is not in the code", u.Username)
		require.NotNil(t, u.Permissions, u.Username)
		assert.Equal(t, sortedCopy(p.Publish), sortedCopy(u.Permissions.Publish.Allow), "%s publish", u.Username)
		assert.Equal(t, sortedCopy(p.Subscribe), sortedCopy(u.Permissions.Subscribe.Allow), "%s subscribe", u.Username)
		assert.Equal(t, p.Respond, u.Permissions.Response != nil, "%s responses", u.Username)
	}
	assert.Equal(t, want, got, "every user, each with the password of its variable")
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// The Helm chart's values.yaml lists the same users (deploytest checks
// them against auth.conf; this keeps the block generated).
func TestHelmValuesListTheCodesUsers(t *testing.T) {
	file := filepath.Join("..", "..", "deploy", "helm", "pave", "values.yaml")
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	const start, end = "        users:\n", "    cluster:\n"
	text := string(raw)
	i := strings.Index(text, start)
	require.GreaterOrEqual(t, i, 0, "values.yaml has no nats users block")
	j := strings.Index(text[i:], end)
	require.GreaterOrEqual(t, j, 0, "values.yaml's users block ends at the cluster section")
	want := text[:i+len(start)] + natsfx.HelmUsers("          ") + text[i+j:]
	if os.Getenv("PAVE_UPDATE_NATS_CONF") == "1" {
		require.NoError(t, os.WriteFile(file, []byte(want), 0o644))
		text = want
	}
	require.Equal(t, want, text,
		"values.yaml's nats users are stale: PAVE_UPDATE_NATS_CONF=1 go test ./pkg/natsfx/ -run 'TestDeployedNATSUsers|TestHelmValues'")
}
