// Package cost is the cost service: rate cards, meters, budgets.
//
// It estimates environments before they are built (the budget gate step
// of lifecycle's sagas sends it pave.cmd.cost.check), meters resources
// from provisioning's results and jobs from the scheduler's and runners'
// events into the COST_METERS bucket, answers spend queries and the FOCUS
// export from an in-memory index of that bucket, and raises budget and
// spike alerts (pave.evt.cost.>).
package cost

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/shopspring/decimal"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/cost/internal/adapters"
	"github.com/pave-platform/pave/services/cost/internal/app"
	"github.com/pave-platform/pave/services/cost/internal/domain"
	"github.com/pave-platform/pave/services/cost/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "cost"

// Config is the cost service's configuration.
type Config struct {
	// RateCards is the rate card file; empty is the built-in card, a copy
	// of deploy/cost/ratecards.yaml.
	RateCards string `env:"PAVE_COST_RATECARDS"`
	// EvaluateInterval is how often budgets and spikes are checked.
	EvaluateInterval time.Duration `env:"PAVE_COST_EVALUATE_INTERVAL" envDefault:"30s"`
	// SpikeBaselineHours is how many hours before the last the baseline averages.
	SpikeBaselineHours int `env:"PAVE_COST_SPIKE_BASELINE_HOURS" envDefault:"24"`
	// SpikeRatio: the last hour fires above the baseline times this.
	SpikeRatio string `env:"PAVE_COST_SPIKE_RATIO" envDefault:"2"`
	// SpikeMinAmount: and only when above the baseline by this much.
	SpikeMinAmount string `env:"PAVE_COST_SPIKE_MIN_AMOUNT" envDefault:"1"`
	// InvoiceIssuer names the operator in the FOCUS export.
	InvoiceIssuer string `env:"PAVE_COST_INVOICE_ISSUER" envDefault:"Pave"`
	// MeterRetention is how long closed meters are kept (0: forever).
	MeterRetention time.Duration `env:"PAVE_COST_METER_RETENTION" envDefault:"9600h"`
	// SweepInterval is how often closed meters past the retention go.
	SweepInterval time.Duration `env:"PAVE_COST_SWEEP_INTERVAL" envDefault:"1h"`
}

// Validate names the variable that is out of range.
func (c Config) Validate() error {
	var errs []error
	if c.EvaluateInterval < 10*time.Millisecond {
		errs = append(errs, config.Invalid("PAVE_COST_EVALUATE_INTERVAL", "must be at least 10ms"))
	}
	if c.SpikeBaselineHours < 1 || c.SpikeBaselineHours > 24*31 {
		errs = append(errs, config.Invalid("PAVE_COST_SPIKE_BASELINE_HOURS", "must be from 1 to 744"))
	}
	for name, v := range map[string]string{"PAVE_COST_SPIKE_RATIO": c.SpikeRatio, "PAVE_COST_SPIKE_MIN_AMOUNT": c.SpikeMinAmount} {
		if d, err := decimal.NewFromString(v); err != nil || d.IsNegative() {
			errs = append(errs, config.Invalid(name, "must be a non-negative decimal"))
		}
	}
	if c.MeterRetention != 0 && c.MeterRetention < 32*24*time.Hour {
		errs = append(errs, config.Invalid("PAVE_COST_METER_RETENTION", "must be 0 (keep all) or at least 768h, longer than a budget period and the spike baseline"))
	}
	if c.SweepInterval < 10*time.Millisecond {
		errs = append(errs, config.Invalid("PAVE_COST_SWEEP_INTERVAL", "must be at least 10ms"))
	}
	if c.InvoiceIssuer == "" {
		errs = append(errs, config.Invalid("PAVE_COST_INVOICE_ISSUER", "must not be empty"))
	}
	return errors.Join(errs...)
}

func (c Config) spikeRule() domain.SpikeRule {
	return domain.SpikeRule{BaselineHours: c.SpikeBaselineHours, Ratio: decimal.RequireFromString(c.SpikeRatio),
		MinAmount: decimal.RequireFromString(c.SpikeMinAmount)}
}

// DefaultRateCard is the built-in rate card; a test keeps it equal to
// deploy/cost/ratecards.yaml.
//
//go:embed ratecards.default.yaml
var DefaultRateCard []byte

// LoadRateCard reads and validates the rate card file (empty: the
// built-in card); every problem names the file and the field.
func LoadRateCard(file string) (domain.RateCard, error) {
	if file == "" {
		card, err := domain.ParseRateCard(DefaultRateCard)
		if err != nil {
			return domain.RateCard{}, fmt.Errorf("built-in rate card: %w", err)
		}
		return card, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return domain.RateCard{}, fmt.Errorf("read rate card (PAVE_COST_RATECARDS=%s): %w", file, err)
	}
	card, err := domain.ParseRateCard(raw)
	if err != nil {
		return domain.RateCard{}, fmt.Errorf("%s: %w", file, err)
	}
	return card, nil
}

// Module runs the cost service.
var Module = fx.Module(Name,
	platformfx.ServiceConn(natsfx.CostUser),
	service.Lifecycle(Name),
	platformfx.Run(New),
)

// Service is one cost replica.
type Service struct {
	nc    *nats.Conn
	bus   *bus.Bus
	so    bus.StreamOptions
	rt    *service.Runtime
	cfg   Config
	card  domain.RateCard
	log   *slog.Logger
	now   func() time.Time
	index *adapters.Index
	app   *app.Service
}

// New is a cost replica, not started; it reads the rate card, and
// refuses a bad one naming the field.
func New(nc *nats.Conn, b *bus.Bus, so bus.StreamOptions, mw platformfx.Middleware, cfg Config, log *slog.Logger) (*Service, error) {
	card, err := LoadRateCard(cfg.RateCards)
	if err != nil {
		return nil, err
	}
	log = log.With("service", Name)
	return &Service{nc: nc, bus: b, so: so, rt: service.NewRuntime(b, mw, log), cfg: cfg, card: card, log: log,
		now: func() time.Time { return time.Now().UTC() }}, nil
}

// Start declares the buckets and the streams it reads, loads the meters
// and starts the consumers, the API and the alert loop.
func (s *Service) Start(ctx context.Context) error { return s.rt.Hook(s.build).OnStart(ctx) }

// Stop stops the API, the alert loop, the consumers and the meters'
// index, in the runtime's order.
func (s *Service) Stop(ctx context.Context) error { return s.rt.Stop(ctx) }

func (s *Service) build(ctx context.Context) error {
	js := s.bus.JetStream()
	for _, peer := range []string{Name, "provisioning", "lifecycle", "scheduler", "runner"} {
		if err := bus.EnsureStreams(ctx, js, bus.ServiceStreams(peer, s.so)...); err != nil {
			return err
		}
	}
	kvs := map[string]*adapters.KV{}
	for _, b := range []string{adapters.MetersBucket, adapters.BudgetsBucket, adapters.AlertsBucket} {
		kv, err := adapters.OpenKV(ctx, js, b, s.so.Replicas)
		if err != nil {
			return err
		}
		kvs[b] = kv
	}
	var err error
	if s.index, err = adapters.WatchIndex(ctx, kvs[adapters.MetersBucket], s.log); err != nil {
		return err
	}
	s.rt.OnStop(func(context.Context) error { return s.index.Stop() })
	select {
	case <-s.index.Ready():
	case <-ctx.Done():
		return fmt.Errorf("load meters: %w", ctx.Err())
	}
	svc := app.NewService(app.Deps{Card: s.card, Meters: kvs[adapters.MetersBucket], Index: s.index,
		Budgets: kvs[adapters.BudgetsBucket], Claims: kvs[adapters.AlertsBucket], Publisher: s.bus,
		Templates: adapters.LifecycleTemplates{NC: s.nc}, Log: s.log, Now: s.now, Retention: s.cfg.MeterRetention})
	s.app = svc
	ports.Consumers(s.rt.Router(), svc)
	api := ports.API{Svc: svc, Issuer: s.cfg.InvoiceIssuer, Now: s.now}
	s.rt.ServeRPC(s.nc, "pave-cost", api.Endpoints()...)
	rule := s.cfg.spikeRule()
	s.rt.Every(service.Loop{Name: "cost alerts", Every: s.cfg.EvaluateInterval,
		Pass: func(ctx context.Context) error { return svc.Evaluate(ctx, rule) }})
	s.rt.Every(service.Loop{Name: "cost meters sweep", Every: s.cfg.SweepInterval,
		Pass: func(ctx context.Context) error { _, err := svc.Sweep(ctx); return err }})
	return nil
}
