package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/pave-platform/pave/services/scheduler/internal/domain"
)

// Metrics are the leader's Prometheus figures: admissions and their wait
// by team, the queue depth by team and pool after each pass, and how long
// a pass takes (the scheduler's decision latency). Only the leader
// records; a standby reports the queue it last saw as leader, or nothing.
// A nil *Metrics records nothing.
type Metrics struct {
	admissions metric.Int64Counter
	wait       metric.Float64Histogram
	pass       metric.Float64Histogram

	mu     sync.Mutex
	queued map[queueKey]int64 // every key ever seen, so an emptied queue reports 0
}

type queueKey struct{ team, pool string }

// admittedWork is one admission of a batch, counted once its append
// succeeded.
type admittedWork struct {
	team, pool, kind string
	waited           time.Duration
}

// NewMetrics registers the instruments on mp.
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	meter := mp.Meter("github.com/pave-platform/pave/services/scheduler")
	m := &Metrics{queued: map[queueKey]int64{}}
	var err error
	if m.admissions, err = meter.Int64Counter("pave_scheduler_admissions",
		metric.WithDescription("workloads admitted, by team, pool and kind")); err != nil {
		return nil, fmt.Errorf("scheduler metrics: %w", err)
	}
	if m.wait, err = meter.Float64Histogram("pave_scheduler_admission_wait", metric.WithUnit("s"),
		metric.WithDescription("time from submission to admission, by team and pool"),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600)); err != nil {
		return nil, fmt.Errorf("scheduler metrics: %w", err)
	}
	if m.pass, err = meter.Float64Histogram("pave_scheduler_pass_duration", metric.WithUnit("s"),
		metric.WithDescription("time of one scheduling pass: the decision core and emitting its decisions"),
		metric.WithExplicitBucketBoundaries(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1)); err != nil {
		return nil, fmt.Errorf("scheduler metrics: %w", err)
	}
	_, err = meter.Int64ObservableGauge("pave_scheduler_queue_depth",
		metric.WithDescription("workloads waiting for admission after the last pass, by team and pool"),
		metric.WithInt64Callback(m.observeQueue))
	if err != nil {
		return nil, fmt.Errorf("scheduler metrics: %w", err)
	}
	return m, nil
}

func (m *Metrics) observeQueue(_ context.Context, o metric.Int64Observer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.queued {
		o.Observe(n, metric.WithAttributes(attribute.String("team", k.team), attribute.String("pool", k.pool)))
	}
	return nil
}

// timePass records the time since start as one pass: `defer
// l.opts.Metrics.timePass(time.Now())`.
func (m *Metrics) timePass(start time.Time) {
	if m == nil {
		return
	}
	m.pass.Record(context.Background(), time.Since(start).Seconds())
}

// committed counts the admissions of a batch whose append succeeded.
func (m *Metrics) committed(admitted []admittedWork) {
	if m == nil {
		return
	}
	ctx := context.Background()
	m.mu.Lock()
	for _, a := range admitted {
		// A team that was admitted has a queue, empty or not.
		if k := (queueKey{team: a.team, pool: a.pool}); m.queued[k] == 0 {
			m.queued[k] = 0
		}
	}
	m.mu.Unlock()
	for _, a := range admitted {
		m.admissions.Add(ctx, 1, metric.WithAttributes(attribute.String("team", a.team),
			attribute.String("pool", a.pool), attribute.String("kind", a.kind)))
		m.wait.Record(ctx, a.waited.Seconds(), metric.WithAttributes(attribute.String("team", a.team),
			attribute.String("pool", a.pool)))
	}
}

// setQueue takes the queue a pass left: one entry per waiting workload.
func (m *Metrics) setQueue(waiting []domain.Wait, metas map[string]*meta) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.queued {
		m.queued[k] = 0
	}
	for _, w := range waiting {
		if md := metas[w.ID]; md != nil {
			m.queued[queueKey{team: md.spec.Team, pool: md.spec.Pool}]++
		}
	}
}
