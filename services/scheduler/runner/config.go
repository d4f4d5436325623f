package runner

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/pave-platform/pave/pkg/config"
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
	if c.ID == "" {
		c.ID = defaultID()
	}
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
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.ID == "" {
		c.ID = defaultID()
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
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
