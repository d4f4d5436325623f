package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 16, finding 1: the data folder was 0755, so a job running as
// another user could reach whatever inside was not 0600. It is closed to
// everyone but Pave (and, for a root-run PostgreSQL, the postgres user,
// who may enter but not list it); an existing folder is tightened.
func TestTheDataFolderIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".pave")
	require.NoError(t, os.Mkdir(dir, 0o755))

	require.NoError(t, prepareDataDir(dir))

	fi, err := os.Stat(dir)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	pg, lookupErr := user.Lookup("postgres")
	if os.Geteuid() != 0 || lookupErr != nil {
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
		return
	}
	assert.Equal(t, os.FileMode(0o710), fi.Mode().Perm())
	assert.Equal(t, uint32(0), st.Uid)
	assert.Equal(t, pg.Gid, strconv.Itoa(int(st.Gid)))
}
