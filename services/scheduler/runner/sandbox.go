package runner

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/pave-platform/pave/pkg/config"
)

// DedicatedUser is the OS user a runner running as root runs jobs as when
// PAVE_RUNNER_USER is not set; the runner creates it (a system user
// without home or shell) when it is missing.
const DedicatedUser = "pave-job"

// ErrRootJob is why a job is refused when it would run as uid 0.
var ErrRootJob = errors.New("jobs never run as root (uid 0)")

// sandbox is how the runner confines its jobs: the OS user they run as,
// where their private directories go and the limits they run under.
type sandbox struct {
	// cred switches to the job user; nil when the runner is not root
	// and jobs run as the runner's own user.
	cred    *syscall.Credential
	uid     int
	user    string // the user's name (USER, LOGNAME), when known
	workDir string
	limits  Limits
	output  int // how much of the output is kept
}

// newSandbox resolves the job user and prepares the work directory.
func newSandbox(cfg Config, log *slog.Logger) (*sandbox, error) {
	sb := &sandbox{workDir: cfg.WorkDir, limits: cfg.Limits, output: cfg.OutputMaxBytes}
	if err := sb.resolveUser(cfg.User, log); err != nil {
		return nil, err
	}
	if err := sb.prepareWorkDir(); err != nil {
		return nil, err
	}
	return sb, nil
}

func (sb *sandbox) resolveUser(name string, log *slog.Logger) error {
	root := os.Geteuid() == 0
	var (
		u   *user.User
		err error
	)
	switch {
	case name != "":
		u, err = lookupUser(name)
		if err != nil {
			return config.Invalidf("PAVE_RUNNER_USER", "%v", err)
		}
	case root:
		u, err = dedicatedUser()
		if err != nil {
			log.Warn("jobs run as nobody: the dedicated job user could not be created", "user", DedicatedUser, "error", err)
			if u, err = user.Lookup("nobody"); err != nil {
				return config.Invalidf("PAVE_RUNNER_USER", "not set, and neither %s nor nobody exists: %v", DedicatedUser, err)
			}
		}
	default:
		u, err = user.Current()
		if err != nil {
			return fmt.Errorf("job user: %w", err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return config.Invalidf("PAVE_RUNNER_USER", "user %s: %v", u.Username, err)
	}
	if uid == 0 {
		return &config.FieldError{Var: "PAVE_RUNNER_USER", Problem: "user " + u.Username + ": " + ErrRootJob.Error(), Err: ErrRootJob}
	}
	sb.uid, sb.user = int(uid), u.Username
	switch {
	case root:
		// No supplementary groups: the job user's own group only.
		sb.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	case int(uid) != os.Geteuid():
		return config.Invalidf("PAVE_RUNNER_USER", "running jobs as %s needs a runner running as root", u.Username)
	}
	return nil
}

func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.ParseUint(name, 10, 32); err == nil {
		return user.LookupId(name)
	}
	return user.Lookup(name)
}

// dedicatedUser looks DedicatedUser up and creates it when it is missing.
func dedicatedUser() (*user.User, error) {
	if u, err := user.Lookup(DedicatedUser); err == nil {
		return u, nil
	}
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", DedicatedUser, err)
	}
	out, err := exec.Command(useradd, "--system", "--user-group", "--no-create-home",
		"--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", DedicatedUser).CombinedOutput()
	// Another runner may have created it at the same moment.
	if u, lerr := user.Lookup(DedicatedUser); lerr == nil {
		return u, nil
	}
	return nil, fmt.Errorf("create user %s: %v: %s", DedicatedUser, err, strings.TrimSpace(string(out)))
}

// prepareWorkDir makes the work directory: owned by the runner and, when
// jobs run as another user, searchable but not listable by it (0711), so
// a job reaches its own directory and no other.
func (sb *sandbox) prepareWorkDir() error {
	mode := os.FileMode(0o700)
	if sb.cred != nil {
		mode = 0o711
	}
	if err := os.MkdirAll(sb.workDir, mode); err != nil {
		return config.Invalidf("PAVE_RUNNER_WORK_DIR", "%v", err)
	}
	fi, err := os.Lstat(sb.workDir)
	if err != nil {
		return config.Invalidf("PAVE_RUNNER_WORK_DIR", "%v", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || (ok && int(st.Uid) != os.Geteuid()) {
		// A directory someone else made (a job user, in a shared /tmp)
		// could hand them every job's files.
		return config.Invalidf("PAVE_RUNNER_WORK_DIR", "%s must be a directory owned by the runner's user", sb.workDir)
	}
	if err := os.Chmod(sb.workDir, mode); err != nil {
		return config.Invalidf("PAVE_RUNNER_WORK_DIR", "%v", err)
	}
	return nil
}

// unsafeName are the characters a directory name does not keep.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// jobDir makes the job's private directory, 0700 and owned by the job
// user, and within it the job's own Dir (relative) when it names one. It
// returns the private directory and the job's working directory.
func (sb *sandbox) jobDir(workload string, admission int, rel string) (string, string, error) {
	if sb.uid == 0 {
		return "", "", ErrRootJob
	}
	wd, err := relativeDir(rel)
	if err != nil {
		return "", "", err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	dir := filepath.Join(sb.workDir, fmt.Sprintf("%.64s-%d-%s", unsafeName.ReplaceAllString(workload, "_"), admission, hex.EncodeToString(b[:])))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("job directory: %w", err)
	}
	if err := sb.own(dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", "", err
	}
	at := dir
	for _, part := range strings.Split(wd, "/") {
		if part == "" {
			continue
		}
		at = filepath.Join(at, part)
		if err := os.Mkdir(at, 0o700); err != nil {
			_ = os.RemoveAll(dir)
			return "", "", fmt.Errorf("job directory %s: %w", rel, err)
		}
		if err := sb.own(at); err != nil {
			_ = os.RemoveAll(dir)
			return "", "", err
		}
	}
	return dir, at, nil
}

func (sb *sandbox) own(path string) error {
	if sb.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(sb.cred.Uid), int(sb.cred.Gid)); err != nil {
		return fmt.Errorf("job directory: %w", err)
	}
	return nil
}

// relativeDir checks a job's Dir: a path inside its private directory.
func relativeDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	clean := filepath.Clean(dir)
	if filepath.IsAbs(dir) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("job directory %s: must be a relative path inside the job's private directory", dir)
	}
	return clean, nil
}
