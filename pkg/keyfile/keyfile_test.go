package keyfile_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/keyfile"
)

func parse(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(strings.TrimSpace(s)) }

// Starts that race for a missing key file all end with the same key,
// written once and readable by its owner only.
func TestConcurrentStartsAgreeOnOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, _, err := keyfile.LoadOrCreate(path, 32, parse)
			assert.NoError(t, err)
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys {
		assert.Equal(t, keys[0], k)
	}
	require.Len(t, keys[0], 32)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, created, err := keyfile.LoadOrCreate(path, 32, parse)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, keys[0], again)

	require.NoError(t, os.WriteFile(path, []byte("not base64!"), 0o600))
	_, _, err = keyfile.LoadOrCreate(path, 32, parse)
	assert.ErrorContains(t, err, path, "a bad file is named")
}
