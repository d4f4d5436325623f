package domain_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

func TestObjectNamesRoundTrip(t *testing.T) {
	tests := []struct{ give, want string }{
		{"db", "pave_db"},
		{"env-42-db", "pave_env_42_db"},
		{"0", "pave_0"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, domain.ObjectName(tt.give))
		id, ok := domain.ResourceIDFromObjectName(tt.want)
		assert.True(t, ok, tt.want)
		assert.Equal(t, tt.give, id)
	}
}

func TestResourceIDsThatCannotNameObjects(t *testing.T) {
	tests := []string{"", "Env", "a_b", "-a", "a-", "a.b", "a*", "env:1", string(make([]byte, 49))}
	for _, give := range tests {
		err := domain.ValidateID(give)
		assert.Error(t, err, "%q", give)
		assert.True(t, domain.IsPermanent(err), "%q", give)
	}
	assert.NoError(t, domain.ValidateID("a234567890123456789012345678901234567890123456-8"))
	_, ok := domain.ResourceIDFromObjectName("postgres")
	assert.False(t, ok, "a name without the prefix is not Pave's")
	_, ok = domain.ResourceIDFromObjectName("pave__x")
	assert.False(t, ok, "a name no valid id maps to is not Pave's")
}

func TestPublicOutputsDropSecrets(t *testing.T) {
	c := &domain.Credentials{Username: "pave_db", Password: "s3cret-pw", URL: "postgres://pave_db:s3cret-pw@h/db"}
	got := domain.PublicOutputs(map[string]string{
		"host": "db.internal", "port": "5432", "username": "pave_db", "key_prefix": "env:x:",
		"password": "s3cret-pw", "api_token": "t", "dsn": "postgres://u:p@h/db", "note": "pw is s3cret-pw",
		"console": "https://console.example.com/x",
	}, c)
	assert.Equal(t, map[string]string{
		"host": "db.internal", "port": "5432", "username": "pave_db", "key_prefix": "env:x:",
		"console": "https://console.example.com/x",
	}, got)
	assert.NotNil(t, domain.PublicOutputs(nil, nil))
}

func TestRecordLifecycle(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	r := domain.Resource{ID: "env1-db", EnvironmentID: "env1", Driver: "postgres", Class: "small"}
	rec := domain.NewProvisioning(r, []string{"database:pave_env1_db", "role:pave_env1_db"}, now).Claim("cmd-1", now)
	assert.Equal(t, domain.StateProvisioning, rec.State)
	assert.True(t, rec.HeldByOther("cmd-2", now.Add(time.Minute), 2*time.Minute))
	assert.False(t, rec.HeldByOther("cmd-1", now, 2*time.Minute), "a redelivery of the same command takes over")
	assert.False(t, rec.HeldByOther("cmd-2", now.Add(3*time.Minute), 2*time.Minute), "a claim ends with its lease")

	rec = rec.Ready(domain.Result{ExternalIDs: []string{"role:pave_env1_db", "extra"}, Outputs: map[string]string{"host": "h"}},
		[]byte("sealed"), "large", now)
	assert.Equal(t, domain.StateReady, rec.State)
	assert.Equal(t, []string{"database:pave_env1_db", "role:pave_env1_db", "extra"}, rec.ExternalIDs)
	assert.Equal(t, "large", rec.Class)
	assert.Empty(t, rec.ClaimedBy)

	rec = rec.Deprovisioning(now).Tombstone("cmd-9", true, now)
	assert.False(t, rec.State.Live())
	assert.Nil(t, rec.SealedCredentials, "a tombstone forgets the login")
	assert.Len(t, rec.ExternalIDs, 3, "a tombstone keeps the ids for the sweeper")
}

func TestCredentialsNeverPrint(t *testing.T) {
	c := domain.Credentials{Username: "u", Password: "hunter2", URL: "x://u:hunter2@h"}
	assert.NotContains(t, fmt.Sprintf("%v %+v %s", c, c, c), "hunter2")
}

func TestNotConfiguredIsPermanentAndNamesTheSetting(t *testing.T) {
	err := fmt.Errorf("provision x: %w", &domain.NotConfiguredError{Driver: "postgres", Setting: "PAVE_PROVISIONING_POSTGRES_URL"})
	require.True(t, domain.IsPermanent(err))
	assert.True(t, errors.Is(err, domain.ErrNotConfigured))
	assert.Contains(t, err.Error(), "driver postgres is not configured (set PAVE_PROVISIONING_POSTGRES_URL)")
}
