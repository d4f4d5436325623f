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
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/platformfx"
	"github.com/pave-platform/pave/pkg/saga"
	"github.com/pave-platform/pave/pkg/service"
	"github.com/pave-platform/pave/services/lifecycle/internal/adapters"
	"github.com/pave-platform/pave/services/lifecycle/internal/app"
	"github.com/pave-platform/pave/services/lifecycle/internal/domain"
	"github.com/pave-platform/pave/services/lifecycle/internal/ports"
	"github.com/pave-platform/pave/services/lifecycle/internal/promotion"
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

// Module runs the lifecycle service: its configuration is loaded once,
// the templates' catalog and the runtime are provided, and build registers
// the stores, the saga engine, the handlers and the endpoints on the
// runtime when it starts.
var Module = fx.Module(Name,
	platformfx.ServiceConn(natsfx.LifecycleUser),
	service.Lifecycle(Name),
	fx.Provide(fx.Private, loadConfig, newCatalog, newRuntime),
	fx.Invoke(func(d deps) {
		r := &runner{deps: d, log: d.Log.With("service", Name)}
		d.LC.Append(d.RT.Hook(r.build))
	}),
)

func loadConfig() (Config, error) {
	var c Config
	return c, config.Load(&c)
}

// newCatalog loads the templates; a bad one stops the start.
func newCatalog(cfg Config) (*domain.Catalog, error) {
	cat, err := adapters.LoadCatalog(cfg.TemplatesDir)
	if err != nil {
		return nil, fmt.Errorf("load templates (PAVE_TEMPLATES_DIR=%s): %w", cfg.TemplatesDir, err)
	}
	return cat, nil
}

func newRuntime(b *bus.Bus, mw platformfx.Middleware, log *slog.Logger) *service.Runtime {
	return service.NewRuntime(b, mw, log.With("service", Name))
}

type deps struct {
	fx.In
	LC      fx.Lifecycle
	NC      *nats.Conn
	Bus     *bus.Bus
	SO      bus.StreamOptions
	Cfg     Config
	Catalog *domain.Catalog
	Log     *slog.Logger
	RT      *service.Runtime
	// Fill refuses creates and updates while a stream is full.
	Fill *bus.FillMonitor `optional:"true"`
}

// runner builds the service's parts onto its runtime.
type runner struct {
	deps
	log    *slog.Logger
	engine *saga.Engine
}

func (r *runner) build(ctx context.Context) error {
	cat := r.Catalog
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
	r.RT.OnStop(func(context.Context) error { stopFollow(); waitFollow(); return nil })
	policy := app.DefaultStepPolicy()
	policy.Timeout = r.Cfg.StepTimeout
	policy.Retry.Backoff = r.Cfg.RetryBackoff
	policy.CompensationRetry.Backoff = r.Cfg.RetryBackoff
	policy.AdmissionTimeout = r.Cfg.AdmissionTimeout
	policy.CostCheck = r.Cfg.CostCheck
	ppol := promotion.PromotionPolicy{ApprovalTimeout: r.Cfg.ApprovalTimeout, VerifyTimeout: r.Cfg.VerifyTimeout,
		// An update runs a step per resource, each bounded by StepTimeout.
		StepTimeout: r.Cfg.StepTimeout, ApplyTimeout: 10 * r.Cfg.StepTimeout, Retry: policy.Retry}
	r.engine, err = saga.NewEngine(ctx, js, r.Bus, SagaBucket, append(app.Definitions(cat, policy), promotion.PromotionSaga(ppol)),
		saga.WithLogger(r.log), saga.WithSource("pave/lifecycle"), saga.WithReplicas(r.SO.Replicas),
		saga.WithRetention(r.Cfg.Retention))
	if err != nil {
		return err
	}
	// The engine stops after the consumers, whose handlers drive it.
	r.RT.OnStop(r.engine.Stop)
	svc := app.NewService(envs, r.engine, cat, r.Cfg.AdmissionPool, r.Bus, r.log).WithResumeBackoff(r.Cfg.RetryBackoff).
		WithRetention(r.Cfg.Retention)
	if r.Fill != nil {
		svc.WithCapacity(r.Fill)
	}
	promoter, err := r.promoter(ctx, svc, ppol)
	if err != nil {
		return err
	}
	ports.Consumers(r.RT.Router(), svc, promoter, r.engine)
	if err := r.engine.Launch(); err != nil {
		return err
	}
	r.RT.ServeRPC(r.NC, "pave-lifecycle", append(ports.Endpoints(svc), ports.PromotionEndpoints(promoter)...)...)
	r.RT.Every(service.Loop{Name: "reconcile", Every: r.Cfg.ReconcileInterval, AtStart: true,
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
func (r *runner) promoter(ctx context.Context, svc *app.Service, ppol promotion.PromotionPolicy) (*promotion.Promoter, error) {
	store, err := adapters.NewKVPromotions(ctx, r.Bus.JetStream(), r.SO.Replicas)
	if err != nil {
		return nil, err
	}
	p := promotion.NewPromoter(svc, store.Applications(), store, store, adapters.NewAccessAuthorizer(r.NC, 10*time.Second),
		r.engine, r.Bus, ppol, r.log)
	if r.Cfg.ApplicationsFile == "" {
		return p, nil
	}
	raw, err := os.ReadFile(r.Cfg.ApplicationsFile)
	if err != nil {
		return nil, fmt.Errorf("read applications (PAVE_APPLICATIONS_FILE): %w", err)
	}
	apps, err := domain.ParseApplications(r.Cfg.ApplicationsFile, raw)
	if err != nil {
		return nil, fmt.Errorf("load applications (PAVE_APPLICATIONS_FILE): %w", err)
	}
	return p, p.LoadApplications(ctx, apps)
}
