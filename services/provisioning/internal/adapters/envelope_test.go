package adapters_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, adapters.KeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

func TestEnvelopeSealsPerSecretAndBindsTheResource(t *testing.T) {
	env, err := adapters.NewEnvelope(newKey(t))
	require.NoError(t, err)
	secret := []byte(`{"password":"correct horse battery staple"}`)

	a, err := env.Seal(secret, []byte("env1-db"))
	require.NoError(t, err)
	b, err := env.Seal(secret, []byte("env1-db"))
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a fresh data key and nonce per seal")
	assert.False(t, bytes.Contains(a, []byte("correct horse")), "sealed data holds no plaintext")

	got, err := env.Open(a, []byte("env1-db"))
	require.NoError(t, err)
	assert.Equal(t, secret, got)

	_, err = env.Open(a, []byte("env2-db"))
	assert.Error(t, err, "a sealed value moved to another resource does not open")

	other, err := adapters.NewEnvelope(newKey(t))
	require.NoError(t, err)
	_, err = other.Open(a, []byte("env1-db"))
	assert.ErrorContains(t, err, "sealed under master key "+env.KeyID())

	tampered := bytes.Clone(a)
	tampered[len(tampered)/2] ^= 1
	_, err = env.Open(tampered, []byte("env1-db"))
	assert.Error(t, err)
}

func TestEnvelopeRefusesShortKeys(t *testing.T) {
	_, err := adapters.NewEnvelope(make([]byte, 16))
	assert.Error(t, err)
	tests := []struct {
		give    string
		wantErr bool
	}{
		{base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
		{base64.RawURLEncoding.EncodeToString(make([]byte, 32)) + "\n", false},
		{base64.StdEncoding.EncodeToString(make([]byte, 31)), true},
		{"not base64 at all!", true},
	}
	for _, tt := range tests {
		_, err := adapters.ParseKey(tt.give)
		assert.Equal(t, tt.wantErr, err != nil, "%q: %v", tt.give, err)
	}
}

func TestKeyFileIsCreatedOncePrivately(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "provisioning.key")
	keys := make([][]byte, 8)
	created := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			var err error
			keys[i], created[i], err = adapters.LoadOrCreateKeyFile(path)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	n := 0
	for i := range keys {
		assert.Equal(t, keys[0], keys[i], "concurrent starts agree on one key")
		if created[i] {
			n++
		}
	}
	assert.Equal(t, 1, n, "exactly one caller created the file")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, made, err := adapters.LoadOrCreateKeyFile(path)
	require.NoError(t, err)
	assert.False(t, made)
	assert.Equal(t, keys[0], again)
}
