package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/schema"
)

// probeType is an event only the node-loss test sends, on a stream of its
// own (EVT_NODELOSS, R3), through the same bus code the services use.
const (
	probeType    = "dev.pave.nodeloss.probe.sent.v1"
	probeSubject = "pave.evt.nodeloss.probe.sent"
)

// probeSchema accepts the probe type only: the data is a sequence number.
type probeSchema struct{}

func (probeSchema) Validate(eventType string, _ []byte) error {
	if eventType != probeType {
		return fmt.Errorf("%w: %s", schema.ErrUnknownType, eventType)
	}
	return nil
}

// probe publishes events one after the other for as long as it runs and
// consumes them with a durable consumer, recording which ids the stream
// acknowledged and which the consumer was handed.
type probe struct {
	bus  *bus.Bus
	sub  *bus.Subscription
	stop chan struct{}
	wg   sync.WaitGroup

	published, failed atomic.Int64
	mu                sync.Mutex
	acked             map[string]time.Time
	delivered         map[string]int
	// longestGap is the longest time between two acknowledgements: how
	// long publishing stalled while a leader was elected.
	longestGap time.Duration
}

func startProbe(t *testing.T, nc *nats.Conn, replicas int) *probe {
	t.Helper()
	b, err := bus.New(nc, probeSchema{}, func(string) (string, error) { return probeSubject, nil },
		bus.WithAttemptTimeout(2*time.Second))
	require.NoError(t, err)
	ctx := context.Background()
	so := bus.DefaultStreamOptions()
	so.Replicas = replicas
	require.NoError(t, bus.EnsureStreams(ctx, b.JetStream(), bus.ServiceStreams("nodeloss", so)...))
	p := &probe{bus: b, stop: make(chan struct{}), acked: map[string]time.Time{}, delivered: map[string]int{}}
	p.sub, err = b.Subscribe(ctx, bus.ConsumerSpec{Stream: "EVT_NODELOSS", Durable: "nodeloss-probe", AckWait: 5 * time.Second},
		func(_ context.Context, e event.Event) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.delivered[e.ID()]++
			return nil
		})
	require.NoError(t, err)
	p.wg.Go(p.publishLoop)
	t.Cleanup(func() { p.halt(); _ = p.sub.Stop(context.Background()) })
	return p
}

func (p *probe) publishLoop() {
	last := time.Now()
	for n := 0; ; n++ {
		select {
		case <-p.stop:
			return
		case <-time.After(25 * time.Millisecond):
		}
		e, _ := bus.NewEvent(fmt.Sprintf("probe-%d", n), "pave/nodeloss-test", probeType, map[string]int{"n": n})
		p.published.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.bus.Publish(ctx, e)
		cancel()
		if err != nil {
			p.failed.Add(1)
			continue
		}
		now := time.Now()
		p.mu.Lock()
		p.acked[e.ID()] = now
		p.longestGap = max(p.longestGap, now.Sub(last))
		p.mu.Unlock()
		last = now
	}
}

// halt stops publishing. Safe to repeat.
func (p *probe) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}

// missing lists acknowledged ids the consumer has not been handed.
func (p *probe) missing() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id := range p.acked {
		if p.delivered[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

type probeCounts struct {
	Published, Acknowledged, Failed, Delivered, Redelivered int
	LongestGap                                              time.Duration
}

func (p *probe) counts() probeCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := probeCounts{Published: int(p.published.Load()), Acknowledged: len(p.acked), Failed: int(p.failed.Load()),
		Delivered: len(p.delivered), LongestGap: p.longestGap}
	for _, n := range p.delivered {
		c.Redelivered += n - 1
	}
	return c
}
