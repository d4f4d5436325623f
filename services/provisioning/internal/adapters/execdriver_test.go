package adapters_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
	"github.com/pave-platform/pave/services/provisioning/internal/domain"
)

// provisionerScript keeps one file per resource in the state folder it
// gets as its argument. Classes pick failures: bad (exit 2), busy (exit
// 75, try again), slow (a child that sleeps).
const provisionerScript = `#!/bin/sh
state="$1"
in=$(cat)
field() { printf '%s' "$in" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
action=$(field action); name=$(field name); class=$(field class)
case "$action" in
provision|update)
  case "$class" in
  bad) echo "class bad is not offered" >&2; exit 2 ;;
  busy) echo "quota service unavailable" >&2; exit 75 ;;
  slow) sleep 30 & echo $! > "$state/child.pid"; wait ;;
  esac
  echo "$class" > "$state/$name"
  printf '{"external_ids":["vm-%s"],"outputs":{"host":"%s.exec.local"},"credentials":{"username":"%s","password":"pw-%s","url":"x://%s"}}' "$name" "$name" "$name" "$name" "$name" ;;
sanitize) [ -e "$state/$name" ] && echo "$(head -1 "$state/$name")" > "$state/$name" ;;
deprovision)
  if [ -e "$state/$name" ]; then rm "$state/$name"; echo '{"existed":true}'; else echo '{"existed":false}'; fi ;;
inventory)
  printf '{"names":['; sep=""
  for f in "$state"/pave_*; do [ -e "$f" ] || continue; printf '%s"%s"' "$sep" "$(basename "$f")"; sep=","; done
  printf ']}' ;;
*) echo "unknown action $action" >&2; exit 64 ;;
esac
`

func newExec(t *testing.T, timeout time.Duration) (*adapters.Exec, string) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "provisioner.sh")
	require.NoError(t, os.WriteFile(script, []byte(provisionerScript), 0o755))
	state := filepath.Join(dir, "state")
	require.NoError(t, os.Mkdir(state, 0o755))
	d, err := adapters.NewExec(script+" "+state, timeout)
	require.NoError(t, err)
	return d, state
}

func TestExecDriverRunsTheCommandPerOperation(t *testing.T) {
	ctx := context.Background()
	d, state := newExec(t, 10*time.Second)
	r := domain.Resource{ID: "env1-vm", EnvironmentID: "env1", Driver: "exec", Class: "small"}

	res, err := d.Provision(ctx, r)
	require.NoError(t, err)
	assert.Equal(t, []string{"vm-pave_env1_vm"}, res.ExternalIDs)
	assert.Equal(t, map[string]string{"host": "pave_env1_vm.exec.local"}, res.Outputs)
	assert.Equal(t, "pw-pave_env1_vm", res.Credentials.Password)
	assert.FileExists(t, filepath.Join(state, "pave_env1_vm"))

	r.Class = "large"
	_, err = d.Update(ctx, r)
	require.NoError(t, err)
	require.NoError(t, d.Sanitize(ctx, r.ID))
	inv, err := d.Inventory(ctx)
	require.NoError(t, err)
	assert.Equal(t, d.Planned(r.ID), inv)

	existed, err := d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.True(t, existed)
	existed, err = d.Deprovision(ctx, r.ID)
	require.NoError(t, err)
	assert.False(t, existed)
}

func TestExecDriverFailures(t *testing.T) {
	ctx := context.Background()
	d, _ := newExec(t, 10*time.Second)

	_, err := d.Provision(ctx, domain.Resource{ID: "a", Class: "bad"})
	require.Error(t, err)
	assert.True(t, domain.IsPermanent(err))
	assert.Contains(t, err.Error(), "exit status 2: class bad is not offered", "the stderr tail explains")

	_, err = d.Provision(ctx, domain.Resource{ID: "a", Class: "busy"})
	require.Error(t, err)
	assert.False(t, domain.IsPermanent(err), "exit 75 asks for a retry")

	missing, err := adapters.NewExec(filepath.Join(t.TempDir(), "nope"), time.Second)
	require.NoError(t, err)
	_, err = missing.Provision(ctx, domain.Resource{ID: "a"})
	assert.True(t, domain.IsPermanent(err), "a missing command: %v", err)
}

func TestExecDriverKillsTheProcessGroupOnTimeout(t *testing.T) {
	d, state := newExec(t, 500*time.Millisecond)
	_, err := d.Provision(context.Background(), domain.Resource{ID: "a", Class: "slow"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, domain.IsPermanent(err), "a timeout may pass")

	raw, err := os.ReadFile(filepath.Join(state, "child.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 20*time.Millisecond,
		"the script's sleeping child was killed with its group")
}

// gone reports whether pid has exited (a zombie waiting for a reaper counts).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return strings.HasPrefix(after, "Z")
}
