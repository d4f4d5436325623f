package runner

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/events"
)

// Config is the runner's configuration.
type Config struct {
	// Pool is the scheduler pool whose jobs this runner takes.
	Pool string `env:"PAVE_RUNNER_POOL"`
	// ID names this runner in its reports and is its heartbeat key.
	// Default: host-pid-random.
	ID string `env:"PAVE_RUNNER_ID"`
	// Slots is how many jobs may run at once; 0 means no limit.
	Slots int `env:"PAVE_RUNNER_SLOTS" envDefault:"0"`
	// Heartbeat is how often the runner refreshes its heartbeat key.
	Heartbeat time.Duration `env:"PAVE_RUNNER_HEARTBEAT" envDefault:"1s"`
	// User is the OS user jobs run as: a name or a numeric uid. Default:
	// when the runner runs as root, DedicatedUser (created when missing,
	// else nobody); otherwise the runner's own user. Never root.
	User string `env:"PAVE_RUNNER_USER"`
	// WorkDir holds the jobs' private directories. Default:
	// <temp dir>/pave-runner.
	WorkDir string `env:"PAVE_RUNNER_WORK_DIR"`
	// SpoolDir keeps reports until NATS takes them and marks the
	// admissions this runner started, across restarts; only the runner's
	// user can read it. Default: <temp dir>/pave-runner-spool/<pool>.
	SpoolDir string `env:"PAVE_RUNNER_SPOOL_DIR"`
	// Limits bound each job's processes.
	Limits Limits
	// OutputMaxBytes is how much of a job's output (the end) the runner
	// keeps and stores in the JOB_OUTPUT object store; the reports carry
	// only the last events.MaxLoggedOutput bytes. Default 1 MiB.
	OutputMaxBytes int `env:"PAVE_RUNNER_OUTPUT_MAX_BYTES"`
	// Output configures the JOB_OUTPUT object store.
	Output OutputStore
}

// OutputStore is the retention of the JOB_OUTPUT object store, which the
// runners declare.
type OutputStore struct {
	// TTL is how long a job's output is kept. Default 7 days.
	TTL time.Duration `env:"PAVE_JOB_OUTPUT_TTL"`
	// MaxBytes bounds the store; when it is full, new output is dropped
	// (the report's tail remains) until old output expires. Default 1 GiB.
	MaxBytes int64 `env:"PAVE_JOB_OUTPUT_MAX_BYTES"`
}

// Output defaults.
const (
	DefaultOutputMaxBytes = 1 << 20
	DefaultOutputTTL      = 7 * 24 * time.Hour
	DefaultOutputStore    = 1 << 30
)

// Limits are the resource limits every process of a job runs under (set
// with setrlimit before the job's command starts). 0 means the default,
// a negative value no limit.
type Limits struct {
	// CPU is the CPU time each process may use (RLIMIT_CPU): SIGXCPU
	// when it is used up, SIGKILL a second later.
	CPU time.Duration `env:"PAVE_RUNNER_LIMIT_CPU"`
	// MemoryMiB bounds each process's address space (RLIMIT_AS).
	MemoryMiB int64 `env:"PAVE_RUNNER_LIMIT_MEMORY_MIB"`
	// Procs bounds the processes of the job user (RLIMIT_NPROC), which
	// all jobs of the runner share.
	Procs int64 `env:"PAVE_RUNNER_LIMIT_PROCS"`
	// Files bounds each process's open files (RLIMIT_NOFILE).
	Files int64 `env:"PAVE_RUNNER_LIMIT_FILES"`
}

// Default limits.
const (
	DefaultLimitCPU       = time.Hour
	DefaultLimitMemoryMiB = 4096
	DefaultLimitProcs     = 512
	DefaultLimitFiles     = 1024
)

func (l Limits) withDefaults() Limits {
	l.CPU = cmp.Or(l.CPU, DefaultLimitCPU)
	l.MemoryMiB = cmp.Or(l.MemoryMiB, DefaultLimitMemoryMiB)
	l.Procs = cmp.Or(l.Procs, DefaultLimitProcs)
	l.Files = cmp.Or(l.Files, DefaultLimitFiles)
	return l
}

// DefaultHeartbeat is the heartbeat interval when Config.Heartbeat is 0.
const DefaultHeartbeat = time.Second

var (
	poolPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// idPattern is a key-value key without empty tokens.
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

// LoadConfig reads the configuration from the environment, fills in the
// defaults and validates it; an error names the variable to fix.
func LoadConfig() (Config, error) {
	var c Config
	if err := config.Load(&c); err != nil {
		return Config{}, err
	}
	c = c.withDefaults()
	return c, c.Validate()
}

// Validate names the variable that is wrong. New fills in the defaults
// (ID, Heartbeat) before it validates. The pool is part of a NATS
// subject and the id a key-value key, so both keep to safe characters.
func (c Config) Validate() error {
	var errs []error
	switch {
	case c.Pool == "":
		errs = append(errs, config.Invalid("PAVE_RUNNER_POOL", "is required: the pool whose jobs this runner runs"))
	case !poolPattern.MatchString(c.Pool):
		errs = append(errs, config.Invalidf("PAVE_RUNNER_POOL", "%q must match [A-Za-z0-9_-]+", c.Pool))
	}
	if c.ID != "" && !idPattern.MatchString(c.ID) {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_ID",
			"%q must be tokens of [A-Za-z0-9_-] separated by single dots", c.ID))
	}
	if c.Slots < 0 {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_SLOTS", "must be >= 0 (0: no limit), got %d", c.Slots))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_HEARTBEAT", "must be > 0, got %s", c.Heartbeat))
	}
	if c.User == "root" || c.User == "0" {
		errs = append(errs, config.Invalid("PAVE_RUNNER_USER", "jobs never run as root; name an unprivileged user"))
	}
	if c.SpoolDir != "" && !filepath.IsAbs(c.SpoolDir) {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_SPOOL_DIR", "%q must be an absolute path", c.SpoolDir))
	}
	if c.WorkDir != "" && !filepath.IsAbs(c.WorkDir) {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_WORK_DIR", "%q must be an absolute path", c.WorkDir))
	}
	if c.Limits.CPU > 0 && c.Limits.CPU < time.Second {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_LIMIT_CPU", "must be at least 1s (or negative: no limit), got %s", c.Limits.CPU))
	}
	if c.OutputMaxBytes < 0 || (c.OutputMaxBytes > 0 && c.OutputMaxBytes < events.MaxLoggedOutput) {
		errs = append(errs, config.Invalidf("PAVE_RUNNER_OUTPUT_MAX_BYTES", "must be at least %d, got %d", events.MaxLoggedOutput, c.OutputMaxBytes))
	}
	if c.Output.TTL < 0 {
		errs = append(errs, config.Invalidf("PAVE_JOB_OUTPUT_TTL", "must be > 0, got %s", c.Output.TTL))
	}
	if c.Output.MaxBytes < 0 {
		errs = append(errs, config.Invalidf("PAVE_JOB_OUTPUT_MAX_BYTES", "must be > 0, got %d", c.Output.MaxBytes))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.ID == "" {
		c.ID = defaultID()
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.WorkDir == "" {
		c.WorkDir = filepath.Join(os.TempDir(), "pave-runner")
	}
	if c.SpoolDir == "" && c.Pool != "" {
		c.SpoolDir = filepath.Join(os.TempDir(), "pave-runner-spool", c.Pool)
	}
	c.Limits = c.Limits.withDefaults()
	c.OutputMaxBytes = cmp.Or(c.OutputMaxBytes, DefaultOutputMaxBytes)
	c.Output.TTL = cmp.Or(c.Output.TTL, DefaultOutputTTL)
	c.Output.MaxBytes = cmp.Or(c.Output.MaxBytes, DefaultOutputStore)
	return c
}

// defaultID is host-pid-random, with the host name reduced to the
// characters a key-value key allows.
func defaultID() string {
	host, _ := os.Hostname()
	host = strings.Trim(strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, host), "-")
	if host == "" {
		host = "runner"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
