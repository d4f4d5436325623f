// Package notify delivers Pave's events to other systems (subscriptions,
// signed per Standard Webhooks, at least once, in order per subject) and
// folds alert events into a list people acknowledge. See domain/doc.go
// for the vocabulary and docs/architecture.md for the pipeline.
package notify

import (
	"net/netip"
	"time"

	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// Config is the deliverer's configuration (docs/operations.md).
type Config struct {
	// AllowPrivate lets destinations resolve to loopback, link-local and
	// private addresses (refused by default: server-side request forgery).
	AllowPrivate bool `env:"PAVE_NOTIFY_ALLOW_PRIVATE" envDefault:"false"`
	// AllowCIDRs are ranges allowed even though they are private.
	AllowCIDRs []string `env:"PAVE_NOTIFY_ALLOW_CIDRS" envSeparator:","`
	// AllowHTTP accepts http:// destinations (tests, local receivers).
	AllowHTTP bool `env:"PAVE_NOTIFY_ALLOW_HTTP" envDefault:"false"`
	// RetryBase and RetryMax shape the backoff between attempts; RetryFor
	// is how long a delivery is retried before it is dead-lettered.
	RetryBase time.Duration `env:"PAVE_NOTIFY_RETRY_BASE" envDefault:"5s"`
	RetryMax  time.Duration `env:"PAVE_NOTIFY_RETRY_MAX" envDefault:"1h"`
	RetryFor  time.Duration `env:"PAVE_NOTIFY_RETRY_FOR" envDefault:"24h"`
	// Poll bounds how long a delivery that waits (for its turn, or its
	// next attempt) sleeps before it is looked at again.
	Poll time.Duration `env:"PAVE_NOTIFY_POLL" envDefault:"5s"`
	// DisableAfter disables a subscription that has failed this long.
	DisableAfter time.Duration `env:"PAVE_NOTIFY_DISABLE_AFTER" envDefault:"72h"`
	// Timeout bounds one attempt (connect to last byte).
	Timeout time.Duration `env:"PAVE_NOTIFY_TIMEOUT" envDefault:"10s"`
	// RotationOverlap is how long the old secret signs too after a rotation.
	RotationOverlap time.Duration `env:"PAVE_NOTIFY_ROTATION_OVERLAP" envDefault:"24h"`
	// MaxSubscriptions bounds the subscriptions table (and its in-memory index).
	MaxSubscriptions int `env:"PAVE_NOTIFY_MAX_SUBSCRIPTIONS" envDefault:"10000"`
	// DeliveryRetention is how long delivery records are kept.
	DeliveryRetention time.Duration `env:"PAVE_NOTIFY_DELIVERY_RETENTION" envDefault:"168h"`
	// AlertRetention is how long alerts are kept.
	AlertRetention time.Duration `env:"PAVE_NOTIFY_ALERT_RETENTION" envDefault:"720h"`
	// Streams are the event streams the deliverer follows.
	Streams []string `env:"PAVE_NOTIFY_STREAMS" envSeparator:"," envDefault:"EVT_LIFECYCLE,EVT_PROVISIONING,EVT_ACCESS,EVT_COST,EVT_SCHEDULER,EVT_GATEWAY,EVT_RUNNER,EVT_PLATFORM"`
	// MaxPending is how many deliveries may wait unacknowledged at once.
	MaxPending int `env:"PAVE_NOTIFY_MAX_PENDING" envDefault:"10000"`
	// Workers bounds the lanes delivering at once (a lane per ordering key).
	Workers int `env:"PAVE_NOTIFY_WORKERS" envDefault:"32"`
	// Replicas of the buckets (the platform's stream replicas; not read
	// from the environment).
	Replicas int `env:"-"`
}

// Validate names the variable that is out of range.
func (c Config) Validate() error {
	for _, s := range c.AllowCIDRs {
		if _, err := netip.ParsePrefix(s); err != nil {
			return config.Invalidf("PAVE_NOTIFY_ALLOW_CIDRS", "%q is not a CIDR range", s)
		}
	}
	switch {
	case c.RetryBase <= 0 || c.RetryMax < c.RetryBase:
		return config.Invalid("PAVE_NOTIFY_RETRY_MAX", "must be at least PAVE_NOTIFY_RETRY_BASE, which must be positive")
	case c.RetryFor <= 0:
		return config.Invalid("PAVE_NOTIFY_RETRY_FOR", "must be positive")
	case c.Poll <= 0:
		return config.Invalid("PAVE_NOTIFY_POLL", "must be positive")
	case c.DisableAfter <= 0:
		return config.Invalid("PAVE_NOTIFY_DISABLE_AFTER", "must be positive")
	case c.Timeout <= 0:
		return config.Invalid("PAVE_NOTIFY_TIMEOUT", "must be positive")
	case c.MaxSubscriptions <= 0:
		return config.Invalid("PAVE_NOTIFY_MAX_SUBSCRIPTIONS", "must be positive")
	case len(c.Streams) == 0:
		return config.Invalid("PAVE_NOTIFY_STREAMS", "must name at least one stream")
	}
	return nil
}

func (c Config) schedule() domain.Schedule {
	return domain.Schedule{Base: c.RetryBase, Max: c.RetryMax, MaxAge: c.RetryFor}
}
