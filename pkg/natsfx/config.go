package natsfx

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pave-platform/pave/pkg/config"
)

// Config says where NATS is. With URL empty, the process runs its own
// embedded JetStream server storing under DataDir (the `pave dev` mode).
type Config struct {
	URL       string `env:"PAVE_NATS_URL"`
	CredsFile string `env:"PAVE_NATS_CREDS"`
	Token     string `env:"PAVE_NATS_TOKEN"`
	// User and PasswordFile log in with a user and password, as a `pave
	// runner` or the nats CLI does to `pave dev`'s server (its passwords
	// are under PAVE_DATA_DIR/nats).
	User         string `env:"PAVE_NATS_USER"`
	PasswordFile string `env:"PAVE_NATS_PASSWORD_FILE"`
	// Password is the user's password itself, for deployments that hand
	// secrets over in the environment (docker-compose); the file is
	// preferred.
	Password string `env:"PAVE_NATS_PASSWORD"`
	TLSCA    string `env:"PAVE_NATS_TLS_CA"`
	TLSCert  string `env:"PAVE_NATS_TLS_CERT"`
	TLSKey   string `env:"PAVE_NATS_TLS_KEY"`
	// Name identifies this client in the server's connection list.
	Name string `env:"PAVE_NATS_CLIENT_NAME" envDefault:"pave"`

	DataDir string `env:"PAVE_DATA_DIR" envDefault:".pave"`
	// EmbeddedAddr is where the embedded server listens for other clients
	// (the nats CLI, a `pave runner`); "off" listens nowhere.
	EmbeddedAddr string `env:"PAVE_NATS_EMBEDDED_ADDR" envDefault:"127.0.0.1:4222"`
}

// Embedded reports whether this process runs its own server.
func (c Config) Embedded() bool { return c.URL == "" }

// StoreDir is the embedded server's JetStream directory.
func (c Config) StoreDir() string { return filepath.Join(c.DataDir, "jetstream") }

// Validate checks every variable and names the ones that are wrong.
func (c Config) Validate() error {
	var errs []error
	for _, u := range strings.Split(c.URL, ",") {
		if u == "" {
			continue
		}
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Host == "" || !oneOf(p.Scheme, "nats", "tls", "ws", "wss") {
			errs = append(errs, config.Invalidf("PAVE_NATS_URL", "%q is not a nats://host:port URL", u))
		}
	}
	if (c.User == "") != (c.PasswordFile == "" && c.Password == "") {
		errs = append(errs, config.Invalid("PAVE_NATS_USER", "PAVE_NATS_USER goes with PAVE_NATS_PASSWORD_FILE or PAVE_NATS_PASSWORD"))
	}
	if c.PasswordFile != "" && c.Password != "" {
		errs = append(errs, config.Invalid("PAVE_NATS_PASSWORD", "set PAVE_NATS_PASSWORD or PAVE_NATS_PASSWORD_FILE, not both"))
	}
	for name, path := range map[string]string{"PAVE_NATS_PASSWORD_FILE": c.PasswordFile, "PAVE_NATS_CREDS": c.CredsFile, "PAVE_NATS_TLS_CA": c.TLSCA, "PAVE_NATS_TLS_CERT": c.TLSCert, "PAVE_NATS_TLS_KEY": c.TLSKey} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, config.Invalidf(name, "cannot read %q: %v", path, err))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, config.Invalid("PAVE_NATS_TLS_CERT", "PAVE_NATS_TLS_CERT and PAVE_NATS_TLS_KEY go together"))
	}
	if c.Embedded() && c.DataDir == "" {
		errs = append(errs, config.Invalid("PAVE_DATA_DIR", "must not be empty when PAVE_NATS_URL is empty (embedded server)"))
	}
	if c.EmbeddedAddr != "off" {
		if _, _, err := net.SplitHostPort(c.EmbeddedAddr); err != nil {
			errs = append(errs, config.Invalidf("PAVE_NATS_EMBEDDED_ADDR", "%q is not host:port or off", c.EmbeddedAddr))
		}
	}
	return errors.Join(errs...)
}

func oneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}
