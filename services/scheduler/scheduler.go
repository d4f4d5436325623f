// Package scheduler is the scheduler service: weighted fair queueing of the
// platform's shared capacity across teams.
//
// Every replica campaigns for a leader lease in the SCHEDULER_LEADER
// bucket. The leader rebuilds its state by replaying its log (the stream
// EVT_SCHEDULER, which only the leader appends to, each append fenced by
// the sequence it expects last), then consumes commands (CMD_SCHEDULER)
// and runner reports (EVT_RUNNER), runs the pure decision core and appends
// what it decided before it acknowledges anything. Admitted jobs are
// dispatched to `pave runner` on pave.cmd.runner.run.<pool>; environment
// sagas hear of their admission through the log's events.
package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/scheduler/internal/adapters"
	"github.com/pave-platform/pave/services/scheduler/internal/app"
	"github.com/pave-platform/pave/services/scheduler/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "scheduler"

// Config is the scheduler service's configuration.
type Config struct {
	// File holds the pools and teams.
	File string `env:"PAVE_SCHEDULER_CONFIG" envDefault:"deploy/scheduler/pools.yaml"`
	// Tick is how often a pass runs without news, and runners are checked.
	Tick time.Duration `env:"PAVE_SCHEDULER_TICK" envDefault:"1s"`
	// RunnerTimeout: a runner silent this long loses its jobs' admissions.
	RunnerTimeout time.Duration `env:"PAVE_SCHEDULER_RUNNER_TIMEOUT" envDefault:"5s"`
	// LeaseTTL: a leader silent this long is replaced.
	LeaseTTL time.Duration `env:"PAVE_SCHEDULER_LEASE_TTL" envDefault:"3s"`
	// SnapshotInterval: how often the leader writes a snapshot of its
	// state (and at a clean stop); a new leader reads it and the log
	// after it. Zero: the default; negative: no snapshots.
	SnapshotInterval time.Duration `env:"PAVE_SCHEDULER_SNAPSHOT_INTERVAL" envDefault:"1m"`
	// SnapshotMaxBytes bounds the snapshot bucket. Zero: the default.
	SnapshotMaxBytes int64 `env:"PAVE_SCHEDULER_SNAPSHOT_MAX_BYTES" envDefault:"268435456"`
	// FinishedRetention: how long an ended workload stays readable (and
	// in memory and snapshots). Zero: the default; negative: for ever.
	FinishedRetention time.Duration `env:"PAVE_SCHEDULER_FINISHED_RETENTION" envDefault:"24h"`
}

// Defaults of the settings whose zero value means "the default".
const (
	DefaultSnapshotInterval  = time.Minute
	DefaultSnapshotMaxBytes  = 256 << 20
	DefaultFinishedRetention = 24 * time.Hour
)

func (c Config) withDefaults() Config {
	c.SnapshotInterval = cmp.Or(c.SnapshotInterval, DefaultSnapshotInterval)
	c.SnapshotMaxBytes = cmp.Or(c.SnapshotMaxBytes, DefaultSnapshotMaxBytes)
	c.FinishedRetention = cmp.Or(c.FinishedRetention, DefaultFinishedRetention)
	return c
}

// Validate names the variable that is out of range.
func (c Config) Validate() error {
	var errs []error
	if c.File == "" {
		errs = append(errs, config.Invalid("PAVE_SCHEDULER_CONFIG", "is required"))
	}
	if c.Tick < 10*time.Millisecond {
		errs = append(errs, config.Invalid("PAVE_SCHEDULER_TICK", "must be at least 10ms"))
	}
	if c.RunnerTimeout < time.Second {
		errs = append(errs, config.Invalid("PAVE_SCHEDULER_RUNNER_TIMEOUT", "must be at least 1s"))
	}
	if c.LeaseTTL < time.Second {
		errs = append(errs, config.Invalid("PAVE_SCHEDULER_LEASE_TTL", "must be at least 1s"))
	}
	if c.SnapshotInterval > 0 && c.SnapshotInterval < time.Second {
		errs = append(errs, config.Invalid("PAVE_SCHEDULER_SNAPSHOT_INTERVAL", "must be at least 1s (or negative: no snapshots)"))
	}
	if c.SnapshotMaxBytes < 0 {
		errs = append(errs, config.Invalid("PAVE_SCHEDULER_SNAPSHOT_MAX_BYTES", "must not be negative"))
	}
	return errors.Join(errs...)
}

// Module runs the scheduler service.
var Module = fx.Module(Name,
	platformfx.ServiceConn(natsfx.SchedulerUser),
	service.Lifecycle(Name),
	platformfx.Run(New),
)

// New is a scheduler replica, not started; it reads cfg.File.
func New(nc *nats.Conn, b *bus.Bus, so bus.StreamOptions, mw platformfx.Middleware, cfg Config, log *slog.Logger) (*Service, error) {
	sc, err := adapters.LoadPoolsFile(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("%w (PAVE_SCHEDULER_CONFIG=%s)", err, cfg.File)
	}
	cfg = cfg.withDefaults()
	d := platformfx.Parts{NC: nc, Bus: b, SO: so, MW: mw, Log: log}
	log = log.With("service", Name)
	return &Service{Parts: d, cfg: cfg, sc: sc, log: log, rt: service.NewRuntime(b, mw, log)}, nil
}

// Service is one scheduler replica.
type Service struct {
	platformfx.Parts
	cfg      Config
	sc       adapters.SchedulerConfig
	log      *slog.Logger
	rt       *service.Runtime
	elector  *app.Elector
	instance string
}

// Start declares the streams and buckets and starts campaigning.
func (s *Service) Start(ctx context.Context) error { return s.rt.Hook(s.build).OnStart(ctx) }

// Stop steps down (a standby takes over at once) and stops.
func (s *Service) Stop(ctx context.Context) error { return s.rt.Stop(ctx) }

func (s *Service) build(ctx context.Context) error {
	js := s.Bus.JetStream()
	streams := append(bus.ServiceStreams(Name, s.SO), bus.ServiceStreams("runner", s.SO)...)
	if err := bus.EnsureStreams(ctx, js, streams...); err != nil {
		return err
	}
	s.instance = fmt.Sprintf("scheduler-%d", time.Now().UnixNano())
	lease, err := adapters.NewLease(ctx, js, s.instance, s.cfg.LeaseTTL, s.SO.Replicas)
	if err != nil {
		return err
	}
	runners, err := adapters.WatchRunners(ctx, js, s.SO.Replicas)
	if err != nil {
		return err
	}
	s.rt.OnStop(func(context.Context) error { return runners.Stop() })
	metrics, err := app.NewMetrics(otel.GetMeterProvider())
	if err != nil {
		return err
	}
	opts := app.Options{Tick: s.cfg.Tick, RunnerTimeout: s.cfg.RunnerTimeout, Metrics: metrics,
		Log: adapters.NewJetStreamLog(js), Outputs: adapters.NewJobOutputs(js),
		SnapshotEvery: s.cfg.SnapshotInterval, FinishedRetention: max(s.cfg.FinishedRetention, 0)}
	if s.cfg.SnapshotInterval > 0 {
		snaps, err := adapters.NewSnapshots(ctx, js, s.SO.Replicas, s.cfg.SnapshotMaxBytes)
		if err != nil {
			return err
		}
		opts.Snapshots = snaps
	}
	s.elector = &app.Elector{Lease: lease, Bus: s.Bus, Config: s.sc, Instance: s.instance, Runners: runners,
		Log: s.log, Renew: s.cfg.LeaseTTL / 3, Poll: max(s.cfg.LeaseTTL/12, 50*time.Millisecond),
		Options: opts,
		OnLead:  s.lead}
	s.rt.Go(s.elector.Run)
	return nil
}

// lead starts what only the leader runs, a runtime of its own for the
// term: the command and report consumers and the API.
func (s *Service) lead(ctx context.Context, l *app.Leader) (func(context.Context) error, error) {
	term := service.NewRuntime(s.Bus, s.MW, s.log)
	ports.Consumers(term.Router(), l)
	term.ServeRPC(s.NC, "pave-scheduler", ports.Endpoints(l)...)
	return term.Stop, term.Start(ctx)
}

// Terms is how many times this replica became leader.
func (s *Service) Terms() int {
	if s.elector == nil {
		return 0
	}
	return s.elector.Terms()
}

// StandingDown says why this replica does not campaign (its log is
// full); empty when it does.
func (s *Service) StandingDown() string {
	if s.elector == nil {
		return ""
	}
	return s.elector.StandingDown()
}

// Leading says whether this replica is the leader now.
func (s *Service) Leading() bool { return s.elector != nil && s.elector.Current() != nil }
