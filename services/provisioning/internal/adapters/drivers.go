package adapters

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/services/provisioning/internal/app"
)

// DriverSettings name each driver's target variable, as "not configured"
// failures say it.
var DriverSettings = map[string]string{
	"postgres": "PAVE_PROVISIONING_POSTGRES_URL",
	"redis":    "PAVE_PROVISIONING_REDIS_URL",
	"nats":     "PAVE_PROVISIONING_NATS_URL",
	"http":     "PAVE_PROVISIONING_HTTP_URL",
	"exec":     "PAVE_PROVISIONING_EXEC_COMMAND",
}

// Targets are the drivers' configured targets (empty: not configured).
type Targets struct {
	PostgresURL, RedisURL, NATSURL, HTTPURL, HTTPToken, ExecCommand string
	HTTPTimeout, ExecTimeout                                        time.Duration
}

// Platform is where the NATS driver makes streams when NATSURL is empty:
// the embedded server's tenants' account (never the platform's: a tenant
// must not reach pave.> or the platform's streams), or else the
// platform's own connection.
type Platform struct {
	Conn      *nats.Conn
	JetStream jetstream.JetStream
	// Tenants is the tenants' account, nil without an embedded server;
	// TenantLogins its logins.
	Tenants      jetstream.JetStream
	TenantLogins NATSLogins
	// Embedded says pave dev's in-process server is there; Listen is its
	// address.
	Embedded bool
	Listen   net.Addr
}

// NewDrivers builds every configured driver; none connects yet. onStop
// receives what must close when the service stops.
func NewDrivers(t Targets, p Platform, onStop func(func(context.Context) error)) (*app.Drivers, error) {
	ds := app.NewDrivers()
	for name, setting := range DriverSettings {
		ds.Missing(name, setting)
	}
	if t.PostgresURL != "" {
		d, err := NewPostgres(t.PostgresURL)
		if err != nil {
			return nil, err
		}
		ds.Add("postgres", d)
	}
	if t.RedisURL != "" {
		d, err := NewRedis(t.RedisURL)
		if err != nil {
			return nil, err
		}
		onStop(func(context.Context) error { return d.Close() })
		ds.Add("redis", d)
	}
	js, natsURL, err := natsTarget(t.NATSURL, p, onStop)
	if err != nil {
		return nil, err
	}
	if t.NATSURL == "" && p.Tenants != nil && p.TenantLogins != nil {
		ds.Add("nats", NATSWithLogins{NewNATS(js, natsURL, p.TenantLogins)})
	} else {
		ds.Add("nats", NewNATS(js, natsURL, nil))
	}
	if t.HTTPURL != "" {
		d, err := NewHTTP(t.HTTPURL, t.HTTPToken, t.HTTPTimeout)
		if err != nil {
			return nil, err
		}
		ds.Add("http", d)
	}
	if t.ExecCommand != "" {
		d, err := NewExec(t.ExecCommand, t.ExecTimeout)
		if err != nil {
			return nil, err
		}
		ds.Add("exec", d)
	}
	return ds, nil
}

// natsTarget is a connection of its own to target that keeps trying when
// the server is down; without one, the platform's (see Platform).
func natsTarget(target string, p Platform, onStop func(func(context.Context) error)) (jetstream.JetStream, string, error) {
	if target == "" {
		url := ClientURL(p.Conn.ConnectedUrlRedacted(), p.Embedded, p.Listen)
		if p.Tenants != nil {
			return p.Tenants, url, nil
		}
		return p.JetStream, url, nil
	}
	nc, err := nats.Connect(target, nats.Name("pave-provisioning-driver"),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		return nil, "", fmt.Errorf("connect to %s: %w", "PAVE_PROVISIONING_NATS_URL", err)
	}
	onStop(func(context.Context) error { nc.Close(); return nil })
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, "", err
	}
	return js, withoutUserinfo(target), nil
}

func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	return u.String()
}
