// Package service gives every Pave service the same start and stop: it
// declares the service's streams, announces itself, and says goodbye.
package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// Version is the build's version (semver), set with -ldflags at release.
var Version = "0.1.0-dev"

// announcer is one running instance of a service, as the others hear of it.
type announcer struct {
	Name     string
	Instance string
	started  time.Time
	bus      *bus.Bus
	log      *slog.Logger
}

// Lifecycle returns the fx option that runs a service named name: on
// start it declares the service's command and event streams and publishes
// service.started; on stop, service.stopped.
func Lifecycle(name string) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, b *bus.Bus, so bus.StreamOptions, log *slog.Logger) {
		rt := &announcer{Name: name, Instance: instanceID(), bus: b, log: log.With("service", name)}
		lc.Append(fx.StartStopHook(
			func(ctx context.Context) error { return rt.start(ctx, so) },
			rt.stop,
		))
	})
}

func (r *announcer) start(ctx context.Context, so bus.StreamOptions) error {
	if err := bus.EnsureStreams(ctx, r.bus.JetStream(), bus.ServiceStreams(r.Name, so)...); err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	r.started = time.Now().UTC()
	e, err := bus.NewEvent(r.Instance+"/started", "pave/"+r.Name, events.TypeServiceStarted, events.ServiceStarted{
		Service: r.Name, Instance: r.Instance, Version: Version, StartedAt: r.started,
	})
	if err != nil {
		return err
	}
	if err := r.bus.Publish(ctx, e); err != nil {
		return fmt.Errorf("start %s: %w", r.Name, err)
	}
	r.log.Info("service started", "instance", r.Instance)
	return nil
}

func (r *announcer) stop(ctx context.Context) error {
	now := time.Now().UTC()
	e, err := bus.NewEvent(r.Instance+"/stopped", "pave/"+r.Name, events.TypeServiceStopped, events.ServiceStopped{
		Service: r.Name, Instance: r.Instance, StoppedAt: now, UptimeSeconds: now.Sub(r.started).Seconds(),
	})
	if err != nil {
		return err
	}
	if err := r.bus.Publish(ctx, e); err != nil {
		return fmt.Errorf("stop %s: %w", r.Name, err)
	}
	r.log.Info("service stopped", "instance", r.Instance)
	return nil
}

// instanceID names this process: host, pid and a random suffix, so ids
// derived from it never collide across restarts.
func instanceID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
