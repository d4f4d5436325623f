package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// FillOptions say how often the fill monitor reads the streams and at
// which share of its limit a stream is filling (alert, readiness warning)
// and full (writes refused before they change anything).
type FillOptions struct {
	Interval time.Duration
	Warn     float64
	Refuse   float64
}

// DefaultFillOptions suit pave dev and production alike.
func DefaultFillOptions() FillOptions {
	return FillOptions{Interval: 15 * time.Second, Warn: 0.8, Refuse: 0.95}
}

// clearHysteresis is how far below Warn a filling stream must fall before
// it counts as cleared, so a stream hovering at the line does not flap.
const clearHysteresis = 0.05

// Fill is one stream's use of its limits when last read. A KV bucket is
// the stream KV_<bucket>.
type Fill struct {
	Stream   string
	Ratio    float64 // the larger of Bytes/MaxBytes and Msgs/MaxMsgs
	Bytes    uint64
	MaxBytes int64 // 0: no byte limit
	Msgs     uint64
	MaxMsgs  int64 // 0: no message limit
	At       time.Time
}

// String is how a fill reads in readiness details and problem bodies.
func (f Fill) String() string {
	return fmt.Sprintf("stream %s is %.0f%% full (%d of %d bytes, %d messages)",
		f.Stream, 100*f.Ratio, f.Bytes, f.MaxBytes, f.Msgs)
}

// fillOf is the fill of a stream with a byte or message limit; ok is
// false for a stream without either, which cannot fill.
func fillOf(info *jetstream.StreamInfo, at time.Time) (Fill, bool) {
	c, s := info.Config, info.State
	f := Fill{Stream: c.Name, Bytes: s.Bytes, Msgs: s.Msgs, At: at}
	if c.MaxBytes > 0 {
		f.MaxBytes = c.MaxBytes
		f.Ratio = float64(s.Bytes) / float64(c.MaxBytes)
	}
	if c.MaxMsgs > 0 {
		f.MaxMsgs = c.MaxMsgs
		f.Ratio = max(f.Ratio, float64(s.Msgs)/float64(c.MaxMsgs))
	}
	return f, f.MaxBytes > 0 || f.MaxMsgs > 0
}

// FillMonitor reads every stream of the account periodically, exports
// pave_stream_fill_ratio{stream}, announces each crossing of the warn
// ratio once (see announce), and answers which streams are filling or
// full from its last reading, so readiness and the gateway never wait on
// NATS for it.
type FillMonitor struct {
	bus  *Bus
	opts FillOptions
	log  *slog.Logger

	mu    sync.Mutex
	fills map[string]Fill
	state jetstream.KeyValue // crossings already announced, shared by every process

	stop chan struct{}
	done chan struct{}
}

// NewFillMonitor builds the monitor and registers its gauge on mp (nil:
// no metric).
func NewFillMonitor(b *Bus, o FillOptions, mp metric.MeterProvider, log *slog.Logger) (*FillMonitor, error) {
	if o.Interval <= 0 || o.Warn <= 0 || o.Warn >= o.Refuse || o.Refuse > 1 {
		return nil, fmt.Errorf("fill monitor: want interval > 0 and 0 < warn < refuse <= 1, got %+v", o)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &FillMonitor{bus: b, opts: o, log: log, fills: map[string]Fill{}}
	if mp == nil {
		return m, nil
	}
	_, err := mp.Meter("github.com/pave-platform/pave/pkg/bus").Float64ObservableGauge("pave_stream_fill_ratio",
		metric.WithDescription("share of its byte or message limit a stream (KV_<bucket> for a bucket) holds, 0 to 1, as last read"),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			for _, f := range m.Fills() {
				o.Observe(f.Ratio, metric.WithAttributes(attribute.String("stream", f.Stream)))
			}
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("fill monitor metric: %w", err)
	}
	return m, nil
}

// Options are the monitor's ratios and interval.
func (m *FillMonitor) Options() FillOptions { return m.opts }

// Start reads the streams once, so the first answers are real, and then
// every Interval until Stop.
func (m *FillMonitor) Start(ctx context.Context) error {
	if err := m.openState(ctx); err != nil {
		return err
	}
	if err := m.Check(ctx); err != nil {
		m.log.WarnContext(ctx, "stream fill not read", "error", err)
	}
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	go m.loop()
	return nil
}

// Stop ends the periodic reading and waits for a reading under way.
func (m *FillMonitor) Stop(ctx context.Context) error {
	if m.stop == nil {
		return nil
	}
	close(m.stop)
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fill monitor stop: %w", ctx.Err())
	}
}

func (m *FillMonitor) loop() {
	defer close(m.done)
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(m.opts.Interval, 5*time.Second))
			if err := m.Check(ctx); err != nil {
				m.log.Warn("stream fill not read", "error", err)
			}
			cancel()
		}
	}
}

// Check reads every stream now, replaces the last reading and announces
// the crossings it finds.
func (m *FillMonitor) Check(ctx context.Context) error {
	now := time.Now().UTC()
	fills := map[string]Fill{}
	list := m.bus.js.ListStreams(ctx)
	for info := range list.Info() {
		if f, ok := fillOf(info, now); ok {
			fills[f.Stream] = f
		}
	}
	if err := list.Err(); err != nil {
		return fmt.Errorf("list streams: %w", err)
	}
	m.mu.Lock()
	m.fills = fills
	m.mu.Unlock()
	var errs []error
	for _, f := range sortedFills(fills) {
		errs = append(errs, m.announce(ctx, f))
	}
	return errors.Join(errs...)
}

// Fills is the last reading, by stream name.
func (m *FillMonitor) Fills() []Fill {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedFills(m.fills)
}

// Filling are the streams at or above the warn ratio.
func (m *FillMonitor) Filling() []Fill { return m.atLeast(m.opts.Warn, nil) }

// Full are the streams at or above the refuse ratio, except those named.
func (m *FillMonitor) Full(except ...string) []Fill { return m.atLeast(m.opts.Refuse, except) }

// FullNow is Full with the streams that were filling at the last reading
// read again now, so that a write close to a limit is not let through on
// a reading up to an interval old. Streams far from their limits cost
// nothing; one that cannot be read keeps its last figure.
func (m *FillMonitor) FullNow(ctx context.Context, except ...string) []Fill {
	for _, f := range m.Filling() {
		if slices.Contains(except, f.Stream) {
			continue
		}
		s, err := m.bus.js.Stream(ctx, f.Stream)
		if err != nil {
			continue
		}
		if fresh, ok := fillOf(s.CachedInfo(), time.Now().UTC()); ok {
			m.mu.Lock()
			m.fills[fresh.Stream] = fresh
			m.mu.Unlock()
		}
	}
	return m.Full(except...)
}

func (m *FillMonitor) atLeast(ratio float64, except []string) []Fill {
	var out []Fill
	for _, f := range m.Fills() {
		if f.Ratio >= ratio && !slices.Contains(except, f.Stream) {
			out = append(out, f)
		}
	}
	return out
}

// Warnings are the readiness details of the streams that are filling.
func (m *FillMonitor) Warnings(context.Context) []string {
	var out []string
	for _, f := range m.Filling() {
		w := f.String()
		if f.Ratio >= m.opts.Refuse {
			w += ": writes are refused until space is freed or the limit raised"
		}
		out = append(out, w)
	}
	return out
}

func sortedFills(fills map[string]Fill) []Fill {
	out := make([]Fill, 0, len(fills))
	for _, f := range fills {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fill) int { return strings.Compare(a.Stream, b.Stream) })
	return out
}
