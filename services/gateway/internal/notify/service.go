package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/pkg/service"
)

// Service is notify assembled: its tables, index, handlers and API.
type Service struct {
	Config    Config
	Stores    *Stores
	Index     *Index
	Fanout    *Fanout
	Deliverer *Deliverer
	API       *API
	log       *slog.Logger
	so        bus.StreamOptions
	js        jetstream.JetStream
	bus       *bus.Bus
}

// New opens the tables and loads the index; nothing runs until Register.
func New(ctx context.Context, cfg Config, b *bus.Bus, so bus.StreamOptions, log *slog.Logger) (*Service, error) {
	cfg.Replicas = so.Replicas
	js := b.JetStream()
	st, err := OpenStores(ctx, js, cfg)
	if err != nil {
		return nil, err
	}
	index := NewIndex()
	if err := index.Load(ctx, st); err != nil {
		return nil, err
	}
	fan := NewFanout(st, index, b, log)
	del := NewDeliverer(st, index, b, NewGuard(cfg).Client(cfg.Timeout), cfg, log)
	return &Service{Config: cfg, Stores: st, Index: index, Fanout: fan, Deliverer: del,
		API: NewAPI(cfg, st, index, fan, js, log), log: log, so: so, js: js, bus: b}, nil
}

// Handler serves the notify routes.
func (s *Service) Handler() http.Handler { return s.API.Handler() }

// FanoutSpec is the durable consumer of one event stream.
func FanoutSpec(stream string) bus.ConsumerSpec {
	// A lane per NATS subject and event subject: the events of one type
	// about one subject are numbered in stream order, and subjects are
	// fanned out in parallel (on four hashed workers, 500 events/s queued
	// behind each other's round trips). Never dead-lettered for a
	// transient error: a lost fan-out would lose deliveries.
	return bus.ConsumerSpec{Stream: stream, Durable: "gateway-notify-" + strings.ToLower(stream),
		MaxDeliver: math.MaxInt32, Lanes: fanoutLanes, Backoff: bus.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}}
}

// fanoutLanes bounds the events one stream's fan-out works on at once.
const fanoutLanes = 64

// DeliverSpec is the deliverer's durable consumer: a lane per ordering
// key (subscription and subject), PAVE_NOTIFY_WORKERS of them at once, so
// a slow or failing receiver holds up only its own keys.
func DeliverSpec(c Config) bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: "CMD_GATEWAY", Durable: "gateway-notify-deliver",
		FilterSubjects: []string{events.SubjectNotifyDeliver}, MaxDeliver: math.MaxInt32,
		AckWait: 2*c.Timeout + 5*time.Second, MaxAckPending: c.MaxPending, Lanes: c.Workers,
		Backoff: bus.Backoff{Base: min(10*time.Millisecond, c.Poll), Max: c.Poll}}
}

// Register declares the followed streams (with their owners'
// configuration, so the order services start in does not matter) and
// puts the consumers and the index's watch on rt; what a fan-out that
// died left unacknowledged is fanned out first, in order.
func (s *Service) Register(ctx context.Context, rt *service.Runtime) error {
	for _, name := range s.Config.Streams {
		cfg, ok := streamConfig(name, s.so)
		if !ok {
			return fmt.Errorf("PAVE_NOTIFY_STREAMS: %s is not an event stream of Pave", name)
		}
		if err := bus.EnsureStreams(ctx, s.js, cfg); err != nil {
			return err
		}
		if err := s.Fanout.Recover(ctx, s.bus, name); err != nil {
			// Nothing is lost: the consumer redelivers them, later.
			s.log.WarnContext(ctx, "fan-out not recovered in order", "stream", name, "error", err)
		}
		rt.Handle(FanoutSpec(name), s.Fanout.Handle)
	}
	rt.Handle(DeliverSpec(s.Config), s.Deliverer.Handle)
	rt.Go(func(ctx context.Context) { s.Index.Follow(ctx, s.Stores, s.log) })
	return nil
}

func streamConfig(name string, so bus.StreamOptions) (jetstream.StreamConfig, bool) {
	if name == bus.StreamPlatform {
		for _, c := range bus.CoreStreams(so) {
			if c.Name == name {
				return c, true
			}
		}
	}
	svc, ok := strings.CutPrefix(name, "EVT_")
	if !ok || svc == "" {
		return jetstream.StreamConfig{}, false
	}
	return bus.ServiceStreams(strings.ToLower(svc), so)[1], true
}
