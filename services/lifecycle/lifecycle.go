// Package lifecycle is the lifecycle service: environments, templates and
// the sagas that build, update and tear them down with compensation.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/config"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/lifecycle/internal/adapters"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/ports"
)

// Name of the service, its streams and its subjects.
const Name = "lifecycle"

// SagaBucket holds the saga instances of environment operations.
const SagaBucket = "LIFECYCLE_SAGAS"

// Config is the lifecycle service's configuration.
type Config struct {
	TemplatesDir      string        `env:"PAVE_TEMPLATES_DIR" envDefault:"deploy/templates"`
	ReconcileInterval time.Duration `env:"PAVE_LIFECYCLE_RECONCILE_INTERVAL" envDefault:"2s"`
	StepTimeout       time.Duration `env:"PAVE_LIFECYCLE_STEP_TIMEOUT" envDefault:"2m"`
	// RetryBackoff is the first wait before a step or a compensation is
	// tried again; it doubles each time.
	RetryBackoff time.Duration `env:"PAVE_LIFECYCLE_RETRY_BACKOFF" envDefault:"1s"`
	// AdmissionPool is the scheduler pool new environments queue in.
	AdmissionPool string `env:"PAVE_LIFECYCLE_ADMISSION_POOL" envDefault:"platform"`
	// AdmissionTimeout is how long a create waits for the scheduler's
	// admission before it asks again; it gives up after the second wait.
	AdmissionTimeout time.Duration `env:"PAVE_LIFECYCLE_ADMISSION_TIMEOUT" envDefault:"30m"`
	// CostCheck starts create and update sagas with the cost service's
	// budget step.
	CostCheck bool `env:"PAVE_LIFECYCLE_COST_CHECK" envDefault:"true"`
	// ApplicationsFile configures applications and their promotion
	// pipelines (YAML); empty: only what the API sets.
	ApplicationsFile string `env:"PAVE_APPLICATIONS_FILE"`
	// ApprovalTimeout: a promotion not approved in time is rejected.
	ApprovalTimeout time.Duration `env:"PAVE_PROMOTION_APPROVAL_TIMEOUT" envDefault:"24h"`
	// VerifyTimeout: a promoted environment not healthy in time is
	// rolled back.
	VerifyTimeout time.Duration `env:"PAVE_PROMOTION_VERIFY_TIMEOUT" envDefault:"5m"`
	// Retention is how long a deleted environment and an ended saga stay
	// before their keys are removed.
	Retention time.Duration `env:"PAVE_LIFECYCLE_RETENTION" envDefault:"168h"`
}

// Validate names the variable that is out of range.
func (c Config) Validate() error {
	var errs []error
	if c.ReconcileInterval < 100*time.Millisecond {
		errs = append(errs, config.Invalid("PAVE_LIFECYCLE_RECONCILE_INTERVAL", "must be at least 100ms"))
	}
	if c.StepTimeout < time.Second {
		errs = append(errs, config.Invalid("PAVE_LIFECYCLE_STEP_TIMEOUT", "must be at least 1s"))
	}
	if c.RetryBackoff < time.Millisecond {
		errs = append(errs, config.Invalid("PAVE_LIFECYCLE_RETRY_BACKOFF", "must be at least 1ms"))
	}
	if !validPoolName(c.AdmissionPool) {
		errs = append(errs, config.Invalid("PAVE_LIFECYCLE_ADMISSION_POOL",
			"must be 1 to 128 letters, digits, '.', '_' or '-'"))
	}
	if c.AdmissionTimeout < time.Second {
		errs = append(errs, config.Invalid("PAVE_LIFECYCLE_ADMISSION_TIMEOUT", "must be at least 1s"))
	}
	if c.ApprovalTimeout < time.Second {
		errs = append(errs, config.Invalid("PAVE_PROMOTION_APPROVAL_TIMEOUT", "must be at least 1s"))
	}
	if c.VerifyTimeout < time.Second {
		errs = append(errs, config.Invalid("PAVE_PROMOTION_VERIFY_TIMEOUT", "must be at least 1s"))
	}
	if c.Retention < time.Second {
		errs = append(errs, config.Invalid("PAVE_LIFECYCLE_RETENTION", "must be at least 1s"))
	}
	return errors.Join(errs...)
}

// validPoolName accepts what the scheduler can name a pool by and an
// operator can type: the characters of workload ids.
func validPoolName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Module runs the lifecycle service.
var Module = fx.Module(Name,
	service.Lifecycle(Name),
	fx.Invoke(run),
)

type deps struct {
	fx.In
	LC  fx.Lifecycle
	NC  *nats.Conn
	Bus *bus.Bus
	SO  bus.StreamOptions
	MW  platformfx.Middleware
	Log *slog.Logger
	// Fill refuses creates and updates while a stream is full.
	Fill *bus.FillMonitor `optional:"true"`
}

func run(d deps) error {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		return err
	}
	log := d.Log.With("service", Name)
	r := &runner{deps: d, cfg: cfg, log: log, rt: service.NewRuntime(d.Bus, d.MW, log)}
	d.LC.Append(r.rt.Hook(r.build))
	return nil
}

// runner builds the service's parts onto its runtime.
type runner struct {
	deps
	cfg    Config
	log    *slog.Logger
	rt     *service.Runtime
	engine *saga.Engine
}

func (r *runner) build(ctx context.Context) error {
	cat, err := adapters.LoadCatalog(r.cfg.TemplatesDir)
	if err != nil {
		return fmt.Errorf("load templates (PAVE_TEMPLATES_DIR=%s): %w", r.cfg.TemplatesDir, err)
	}
	js := r.Bus.JetStream()
	for _, peer := range []string{"provisioning", "scheduler", "cost", "gateway"} {
		if err := bus.EnsureStreams(ctx, js, bus.ServiceStreams(peer, r.SO)...); err != nil {
			return err
		}
	}
	envs, err := adapters.NewKVEnvironments(ctx, js, r.SO.Replicas)
	if err != nil {
		return err
	}
	// Lists come from an index the bucket's watch keeps (10,000
	// environments: a scan per list is ~100 ms).
	followCtx, stopFollow := context.WithCancel(context.Background())
	waitFollow, err := envs.Follow(followCtx)
	if err != nil {
		stopFollow()
		return err
	}
	r.rt.OnStop(func(context.Context) error { stopFollow(); waitFollow(); return nil })
	policy := app.DefaultStepPolicy()
	policy.Timeout = r.cfg.StepTimeout
	policy.Retry.Backoff = r.cfg.RetryBackoff
	policy.CompensationRetry.Backoff = r.cfg.RetryBackoff
	policy.AdmissionTimeout = r.cfg.AdmissionTimeout
	policy.CostCheck = r.cfg.CostCheck
	ppol := app.PromotionPolicy{ApprovalTimeout: r.cfg.ApprovalTimeout, VerifyTimeout: r.cfg.VerifyTimeout,
		// An update runs a step per resource, each bounded by StepTimeout.
		StepTimeout: r.cfg.StepTimeout, ApplyTimeout: 10 * r.cfg.StepTimeout, Retry: policy.Retry}
	r.engine, err = saga.NewEngine(ctx, js, r.Bus, SagaBucket, append(app.Definitions(cat, policy), app.PromotionSaga(ppol)),
		saga.WithLogger(r.log), saga.WithSource("pave/lifecycle"), saga.WithReplicas(r.SO.Replicas),
		saga.WithRetention(r.cfg.Retention))
	if err != nil {
		return err
	}
	// The engine stops after the consumers, whose handlers drive it.
	r.rt.OnStop(r.engine.Stop)
	svc := app.NewService(envs, r.engine, cat, r.cfg.AdmissionPool, r.Bus, r.log).WithResumeBackoff(r.cfg.RetryBackoff).
		WithRetention(r.cfg.Retention)
	if r.Fill != nil {
		svc.WithCapacity(r.Fill)
	}
	promoter, err := r.promoter(ctx, svc, ppol)
	if err != nil {
		return err
	}
	ports.Consumers(r.rt.Router(), svc, promoter, r.engine)
	if err := r.engine.Launch(); err != nil {
		return err
	}
	r.rt.ServeRPC(r.NC, "pave-lifecycle", append(ports.Endpoints(svc), ports.PromotionEndpoints(promoter)...)...)
	r.rt.Every(service.Loop{Name: "reconcile", Every: r.cfg.ReconcileInterval, AtStart: true,
		Pass: func(ctx context.Context) error {
			err := svc.Reconcile(ctx)
			if perr := promoter.ReconcilePromotions(ctx); perr != nil {
				err = errors.Join(err, fmt.Errorf("promotions: %w", perr))
			}
			return err
		}})
	return nil
}

// promoter builds the promotion pipelines and loads the applications
// file, whose entries win over what the API stored under the same name.
func (r *runner) promoter(ctx context.Context, svc *app.Service, ppol app.PromotionPolicy) (*app.Promoter, error) {
	store, err := adapters.NewKVPromotions(ctx, r.Bus.JetStream(), r.SO.Replicas)
	if err != nil {
		return nil, err
	}
	p := app.NewPromoter(svc, store.Applications(), store, store, adapters.NewAccessAuthorizer(r.NC, 10*time.Second),
		r.engine, r.Bus, ppol, r.log)
	if r.cfg.ApplicationsFile == "" {
		return p, nil
	}
	raw, err := os.ReadFile(r.cfg.ApplicationsFile)
	if err != nil {
		return nil, fmt.Errorf("read applications (PAVE_APPLICATIONS_FILE): %w", err)
	}
	apps, err := domain.ParseApplications(r.cfg.ApplicationsFile, raw)
	if err != nil {
		return nil, fmt.Errorf("load applications (PAVE_APPLICATIONS_FILE): %w", err)
	}
	return p, p.LoadApplications(ctx, apps)
}
