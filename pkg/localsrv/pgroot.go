package localsrv

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serviceUser returns the credential to run PostgreSQL with: nil when not
// root, else the OS user "postgres" that Debian's package creates.
func serviceUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("postgres does not run as root and OS user %q is missing (create it: useradd --system --user-group postgres): %w", "postgres", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// errNotTraversable reports a directory the postgres user cannot enter.
var errNotTraversable = errors.New("not traversable by the postgres user")

// checkTraversable verifies that cred can enter dir and each of its
// ancestors, so the data directory is reachable once we drop root. Root's
// private directories (/root, t.TempDir's 0700 parent) fail this.
func checkTraversable(dir string, cred *syscall.Credential) error {
	for {
		info, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if !canEnter(info, cred) {
			return fmt.Errorf("%s (mode %s): %w; make it world-searchable (chmod o+x) or choose another directory",
				dir, info.Mode().Perm(), errNotTraversable)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

func canEnter(info os.FileInfo, cred *syscall.Credential) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := info.Mode().Perm()
	switch {
	case st.Uid == cred.Uid:
		return perm&0o100 != 0
	case st.Gid == cred.Gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
