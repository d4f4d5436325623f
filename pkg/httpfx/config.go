package httpfx

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/pave-platform/pave/pkg/config"
)

// Config of the process's HTTP server.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free port.
	Addr string `env:"PAVE_HTTP_ADDR" envDefault:":8080"`
	// ShutdownTimeout bounds how long Stop waits for requests in flight
	// before it closes their connections.
	ShutdownTimeout time.Duration `env:"PAVE_HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// DrainDelay is how long Stop keeps serving, with /readyz failing,
	// before it stops accepting connections, so load balancers notice the
	// instance is leaving before connections are refused. Set it a little
	// above the readiness probe period where one is in front (Kubernetes).
	DrainDelay time.Duration `env:"PAVE_HTTP_DRAIN_DELAY" envDefault:"0s"`
	// ReadHeaderTimeout bounds how long a client may take to send the
	// request headers (slowloris protection).
	ReadHeaderTimeout time.Duration `env:"PAVE_HTTP_READ_HEADER_TIMEOUT" envDefault:"10s"`
	// BodyTimeout bounds how long a client may take to send a request
	// body; past it the read fails and the connection closes (slow-body
	// protection). It ends with the body: a stream's answer is not cut.
	BodyTimeout time.Duration `env:"PAVE_HTTP_BODY_TIMEOUT" envDefault:"30s"`
	// IdleTimeout closes a kept-alive connection with no request for
	// this long.
	IdleTimeout time.Duration `env:"PAVE_HTTP_IDLE_TIMEOUT" envDefault:"60s"`
	// ReadinessTimeout bounds each readiness check.
	ReadinessTimeout time.Duration `env:"PAVE_HTTP_READINESS_TIMEOUT" envDefault:"1s"`
}

// Validate checks the address and durations.
func (c Config) Validate() error {
	var errs []error
	if err := validateAddr(c.Addr); err != nil {
		errs = append(errs, err)
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_SHUTDOWN_TIMEOUT", "must be > 0"))
	}
	if c.DrainDelay < 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_DRAIN_DELAY", "must be >= 0"))
	}
	if c.ReadHeaderTimeout <= 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_READ_HEADER_TIMEOUT", "must be > 0"))
	}
	if c.BodyTimeout <= 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_BODY_TIMEOUT", "must be > 0"))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_IDLE_TIMEOUT", "must be > 0"))
	}
	if c.ReadinessTimeout <= 0 {
		errs = append(errs, config.Invalid("PAVE_HTTP_READINESS_TIMEOUT", "must be > 0"))
	}
	return errors.Join(errs...)
}

func validateAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return config.Invalidf("PAVE_HTTP_ADDR", "%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return config.Invalidf("PAVE_HTTP_ADDR", "%q has no port number (0-65535)", addr)
	}
	return nil
}

// LoadConfig reads Config from the environment.
func LoadConfig() (Config, error) {
	var cfg Config
	err := config.Load(&cfg)
	return cfg, err
}
