// Command busbench measures the bus against raw nats.go JetStream on the
// same embedded server (file storage, SyncAlways) in one run, and prints
// each figure as `RESULT <name> <value> <unit>`.
//
// Throughput: P concurrent publishers, each waiting for every ack, and one
// durable consumer, over N events of 1 KiB; time from the first publish to
// the last handled event; the best of the rounds. Latency: one event at a
// time, alternating raw and bus, so the figure is the path's own cost
// (publish, store, fsync, deliver) under the same disk conditions, not
// queueing.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/schema"
)

type options struct {
	events, publishers, latencyEvents, rounds int
}

func main() {
	var o options
	flag.IntVar(&o.events, "events", 20000, "events per throughput run")
	flag.IntVar(&o.publishers, "publishers", 16, "concurrent publishers")
	flag.IntVar(&o.latencyEvents, "latency-events", 2000, "events in the latency run")
	flag.IntVar(&o.rounds, "rounds", 2, "alternating raw/bus rounds; the best of each is reported")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "busbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "busbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := natsfx.StartEmbedded(natsfx.EmbeddedConfig{StoreDir: dir, Port: -1})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	reg, err := schema.Default()
	if err != nil {
		return err
	}
	if err := reg.Register(benchType, []byte(benchSchema)); err != nil {
		return err
	}
	b, err := bus.New(nc, reg, schema.SubjectFor)
	if err != nil {
		return err
	}
	sides := []side{rawSide{js: b.JetStream()}, busSide{b: b}}
	best := map[string]figures{}
	for r := range o.rounds {
		for _, s := range sides {
			thr, err := throughput(context.Background(), s, fmt.Sprintf("%s%dt", s.name(), r), o.events, o.publishers)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", s.name(), r, err)
			}
			f := best[s.name()]
			f.throughput = max(f.throughput, thr)
			best[s.name()] = f
		}
	}
	lat, err := interleavedLatency(context.Background(), sides, o.latencyEvents)
	if err != nil {
		return err
	}
	for i, s := range sides {
		slices.Sort(lat[i])
		f := best[s.name()]
		f.p50, f.p99 = lat[i][len(lat[i])/2], lat[i][len(lat[i])*99/100]
		best[s.name()] = f
	}
	report(best["raw"], best["bus"])
	return nil
}

type figures struct {
	throughput float64
	p50, p99   time.Duration
}

func report(raw, bb figures) {
	fmt.Printf("RESULT bus_raw_throughput %.0f events/s\n", raw.throughput)
	fmt.Printf("RESULT bus_throughput %.0f events/s\n", bb.throughput)
	fmt.Printf("RESULT bus_throughput_ratio %.3f bus/raw\n", bb.throughput/raw.throughput)
	fmt.Printf("RESULT bus_raw_latency_p50 %.1f us\n", us(raw.p50))
	fmt.Printf("RESULT bus_raw_latency_p99 %.1f us\n", us(raw.p99))
	fmt.Printf("RESULT bus_latency_p50 %.1f us\n", us(bb.p50))
	fmt.Printf("RESULT bus_latency_p99 %.1f us\n", us(bb.p99))
	fmt.Printf("RESULT bus_latency_p50_added %.1f us\n", us(bb.p50-raw.p50))
	fmt.Printf("RESULT bus_latency_p99_added %.1f us\n", us(bb.p99-raw.p99))
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func throughput(ctx context.Context, s side, tag string, n, publishers int) (float64, error) {
	var got atomic.Int64
	done := make(chan struct{})
	stop, err := s.consume(ctx, tag, func(time.Time) {
		if got.Add(1) == int64(n) {
			close(done)
		}
	})
	if err != nil {
		return 0, err
	}
	defer stop()
	start := time.Now()
	if err := publishAll(ctx, s, tag, n, publishers); err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return 0, fmt.Errorf("consumed %d of %d", got.Load(), n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func publishAll(ctx context.Context, s side, tag string, n, publishers int) error {
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Go(func() {
			for i := p; i < n; i += publishers {
				if err := s.publish(ctx, tag, fmt.Sprintf("%s-%d", tag, i), i%64); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// interleavedLatency sends one event through each side in turn, each
// waiting for its delivery before the next, so both sides see the same
// disk and scheduler conditions; it returns each side's latencies.
func interleavedLatency(ctx context.Context, sides []side, n int) ([][]time.Duration, error) {
	lat := make([][]time.Duration, len(sides))
	got := make([]chan time.Duration, len(sides))
	for i, s := range sides {
		got[i] = make(chan time.Duration, 1)
		ch := got[i]
		stop, err := s.consume(ctx, s.name()+"l", func(sent time.Time) { ch <- time.Since(sent) })
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	for k := range n {
		for i, s := range sides {
			if err := s.publish(ctx, s.name()+"l", fmt.Sprintf("%sl-%d", s.name(), k), 0); err != nil {
				return nil, err
			}
			select {
			case d := <-got[i]:
				lat[i] = append(lat[i], d)
			case <-time.After(10 * time.Second):
				return nil, fmt.Errorf("%s event %d not delivered", s.name(), k)
			}
		}
	}
	return lat, nil
}

var pad = strings.Repeat("x", 960) // with the other fields: a 1 KiB payload

// side is one of the two things compared.
type side interface {
	name() string
	publish(ctx context.Context, tag, id string, key int) error
	consume(ctx context.Context, tag string, onEvent func(sent time.Time)) (stop func(), err error)
}

func streamConfig(name, subject string) jetstream.StreamConfig {
	c := bus.ServiceStreams("bench", bus.DefaultStreamOptions())[1]
	c.Name, c.Subjects = name, []string{subject}
	return c
}
