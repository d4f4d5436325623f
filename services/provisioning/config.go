package provisioning

import (
	"errors"
	"net/url"
	"path/filepath"
	"time"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/services/provisioning/internal/adapters"
)

// Config is the provisioning service's configuration. A driver whose
// target is empty is not configured: its commands fail permanently with
// the variable to set, and the service still starts.
type Config struct {
	// PostgresURL is an admin (superuser or CREATEROLE+CREATEDB) URL of the
	// PostgreSQL server that gets a database and a role per resource.
	PostgresURL string `env:"PAVE_PROVISIONING_POSTGRES_URL"`
	// RedisURL is an admin URL (database 0) of the Redis server that gets
	// an ACL user per resource.
	RedisURL string `env:"PAVE_PROVISIONING_REDIS_URL"`
	// NATSURL is the NATS server that gets a stream per resource; empty
	// means the platform's own connection.
	NATSURL string `env:"PAVE_PROVISIONING_NATS_URL"`
	// HTTPURL is the base URL of an external provisioner.
	HTTPURL     string        `env:"PAVE_PROVISIONING_HTTP_URL"`
	HTTPToken   string        `env:"PAVE_PROVISIONING_HTTP_TOKEN"`
	HTTPTimeout time.Duration `env:"PAVE_PROVISIONING_HTTP_TIMEOUT" envDefault:"30s"`
	// ExecCommand is run per operation, split on white space (no shell).
	ExecCommand string        `env:"PAVE_PROVISIONING_EXEC_COMMAND"`
	ExecTimeout time.Duration `env:"PAVE_PROVISIONING_EXEC_TIMEOUT" envDefault:"60s"`
	// Key is the 32-byte master key, base64, that seals credentials.
	Key string `env:"PAVE_PROVISIONING_KEY"`
	// KeyFile holds the master key; created with a random key when it
	// does not exist. Default, when Key is empty too: PAVE_DATA_DIR/provisioning.key.
	KeyFile string `env:"PAVE_PROVISIONING_KEY_FILE"`
	DataDir string `env:"PAVE_DATA_DIR" envDefault:".pave"`
	// SweepInterval is how often the orphan sweep runs; 0 turns it off.
	SweepInterval time.Duration `env:"PAVE_PROVISIONING_SWEEP_INTERVAL" envDefault:"5m"`
	// AckWait bounds one handling of a command, driver calls included; a
	// command whose handler died is redelivered after it, and a claim on a
	// resource lapses after twice it.
	AckWait time.Duration `env:"PAVE_PROVISIONING_ACK_WAIT" envDefault:"90s"`
	// SweepRemove deletes orphans instead of only reporting them.
	SweepRemove bool `env:"PAVE_PROVISIONING_SWEEP_REMOVE" envDefault:"false"`
	// DriftInterval is how often the credential drift sweep compares the
	// logins on PostgreSQL and Redis targets with the grants; 0 turns the
	// periodic sweep off (the rpc still runs it on demand).
	DriftInterval time.Duration `env:"PAVE_PROVISIONING_DRIFT_INTERVAL" envDefault:"5m"`
	// DriftRemediate drops extra logins and issues missing ones again
	// instead of only reporting them.
	DriftRemediate bool `env:"PAVE_PROVISIONING_DRIFT_REMEDIATE" envDefault:"false"`
	// ReceiptTTL is how long an environment's teardown receipt is kept
	// after its last step.
	ReceiptTTL time.Duration `env:"PAVE_PROVISIONING_RECEIPT_TTL" envDefault:"720h"`
}

// Setting of each driver's target, named in "not configured" failures.
var driverSettings = map[string]string{
	"postgres": "PAVE_PROVISIONING_POSTGRES_URL",
	"redis":    "PAVE_PROVISIONING_REDIS_URL",
	"nats":     "PAVE_PROVISIONING_NATS_URL",
	"http":     "PAVE_PROVISIONING_HTTP_URL",
	"exec":     "PAVE_PROVISIONING_EXEC_COMMAND",
}

// Validate names every variable that is wrong.
func (c Config) Validate() error {
	var errs []error
	if c.ReceiptTTL < time.Hour {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_RECEIPT_TTL", "must be at least 1h, got %s", c.ReceiptTTL))
	}
	if c.PostgresURL != "" {
		if _, err := adapters.NewPostgres(c.PostgresURL); err != nil {
			errs = append(errs, config.Invalid("PAVE_PROVISIONING_POSTGRES_URL", err.Error()))
		}
	}
	if c.RedisURL != "" {
		if d, err := adapters.NewRedis(c.RedisURL); err != nil {
			errs = append(errs, config.Invalid("PAVE_PROVISIONING_REDIS_URL", err.Error()))
		} else {
			_ = d.Close()
		}
	}
	if u, err := url.Parse(c.NATSURL); c.NATSURL != "" && (err != nil || u.Host == "") {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_NATS_URL", "%q is not a nats://host:port URL", c.NATSURL))
	}
	if _, err := adapters.NewHTTP(c.HTTPURL, "", time.Second); c.HTTPURL != "" && err != nil {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_HTTP_URL", err.Error()))
	}
	for name, d := range map[string]time.Duration{"PAVE_PROVISIONING_HTTP_TIMEOUT": c.HTTPTimeout, "PAVE_PROVISIONING_EXEC_TIMEOUT": c.ExecTimeout} {
		if limit := c.AckWait - c.AckWait/8; d <= 0 || d > limit {
			errs = append(errs, config.Invalidf(name, "must be > 0 and at most %s (PAVE_PROVISIONING_ACK_WAIT less a margin)", limit))
		}
	}
	if c.AckWait < 2*time.Second {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_ACK_WAIT", "must be at least 2s"))
	}
	if c.Key != "" && c.KeyFile != "" {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_KEY", "set PAVE_PROVISIONING_KEY or PAVE_PROVISIONING_KEY_FILE, not both"))
	}
	if _, err := adapters.ParseKey(c.Key); c.Key != "" && err != nil {
		errs = append(errs, config.Invalidf("PAVE_PROVISIONING_KEY", "want 32 bytes, base64: %v", err))
	}
	if c.SweepInterval < 0 || c.SweepInterval > 0 && c.SweepInterval < time.Second {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_SWEEP_INTERVAL", "must be 0 (off) or at least 1s"))
	}
	if c.DriftInterval < 0 || c.DriftInterval > 0 && c.DriftInterval < time.Second {
		errs = append(errs, config.Invalid("PAVE_PROVISIONING_DRIFT_INTERVAL", "must be 0 (off) or at least 1s"))
	}
	return errors.Join(errs...)
}

// MasterKey returns the key that seals credentials: PAVE_PROVISIONING_KEY,
// or the key file, created when missing (created then says so).
func (c Config) MasterKey() (key []byte, file string, created bool, err error) {
	if c.Key != "" {
		key, err = adapters.ParseKey(c.Key)
		return key, "", false, err
	}
	file = c.KeyFile
	if file == "" {
		file = filepath.Join(c.DataDir, "provisioning.key")
	}
	key, created, err = adapters.LoadOrCreateKeyFile(file)
	return key, file, created, err
}

// LoadOrCreateKeyFile reads the base64 master key in path, or writes a
// new random one there (mode 0600) when the file does not exist.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	return adapters.LoadOrCreateKeyFile(path)
}
