package localsrv

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// ErrNotInstalled reports that a server binary is not on this machine.
var ErrNotInstalled = errors.New("not installed")

// pgLibDirs is where Debian's postgresql packages put their binaries,
// outside PATH.
const pgLibDirs = "/usr/lib/postgresql/*/bin"

func notInstalled(binary, pkg string) error {
	return fmt.Errorf("%s: %w (install with: apt-get install -y %s)", binary, ErrNotInstalled, pkg)
}

func findRedis() (string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", notInstalled("redis-server", "redis-server")
	}
	return path, nil
}

// pgBinaries holds the postgres and initdb of one PostgreSQL installation.
type pgBinaries struct {
	postgres string
	initdb   string
}

// findPostgres prefers PATH, taking initdb from the directory the postgres
// binary really lives in so both have the same version, and falls back to
// the highest version under /usr/lib/postgresql.
func findPostgres() (pgBinaries, error) {
	if bins, ok := postgresOnPath(); ok {
		return bins, nil
	}
	dirs, _ := filepath.Glob(pgLibDirs)
	for _, dir := range sortByVersionDesc(dirs) {
		bins := pgBinaries{postgres: filepath.Join(dir, "postgres"), initdb: filepath.Join(dir, "initdb")}
		if isExecutable(bins.postgres) && isExecutable(bins.initdb) {
			return bins, nil
		}
	}
	return pgBinaries{}, notInstalled("postgres", "postgresql")
}

func postgresOnPath() (pgBinaries, bool) {
	postgres, err := exec.LookPath("postgres")
	if err != nil {
		return pgBinaries{}, false
	}
	if real, err := filepath.EvalSymlinks(postgres); err == nil {
		sibling := filepath.Join(filepath.Dir(real), "initdb")
		if isExecutable(sibling) {
			return pgBinaries{postgres: real, initdb: sibling}, true
		}
	}
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		return pgBinaries{}, false
	}
	return pgBinaries{postgres: postgres, initdb: initdb}, true
}

func isExecutable(path string) bool {
	_, err := exec.LookPath(path)
	return err == nil
}

// sortByVersionDesc orders /usr/lib/postgresql/<version>/bin directories
// newest first, comparing versions as numbers (10 after 9.6).
func sortByVersionDesc(dirs []string) []string {
	out := append([]string(nil), dirs...)
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.SliceStable(out, func(i, j int) bool { return version(out[i]) > version(out[j]) })
	return out
}
