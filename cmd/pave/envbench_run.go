package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pave-platform/pave/pkg/bus"
)

func (b *envBench) run(sagas, workers int, steady time.Duration) error {
	rawRate, err := b.rawWriteRate(5000, 16)
	if err != nil {
		return err
	}
	// A first lifecycle writes what only the first does (the team's
	// default configuration at the scheduler): it is not the one counted.
	if err := b.lifecycle(); err != nil {
		return err
	}
	before, err := b.settledWrites()
	if err != nil {
		return err
	}
	seqs, err := b.lastSeqs()
	if err != nil {
		return err
	}
	var seen []string
	var seenMu sync.Mutex
	if os.Getenv("PAVE_BENCH_WRITES") != "" {
		sub, err := b.nc.Subscribe(">", func(m *nats.Msg) {
			if strings.HasPrefix(m.Subject, "_INBOX") || strings.HasPrefix(m.Subject, "$JS.API") {
				return
			}
			seenMu.Lock()
			seen = append(seen, fmt.Sprintf("%s %dB", m.Subject, len(m.Data)))
			seenMu.Unlock()
		})
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
	}
	id, _, err := b.create()
	if err != nil {
		return err
	}
	mid, _ := b.settledWrites()
	if err := b.teardown(id); err != nil {
		return err
	}
	// The consumers of the last events (cost, access, the name's release)
	// write after the environment is seen deleted: they count too.
	after, _ := b.settledWrites()
	createWrites, sagaWrites := mid-before, after-before
	if os.Getenv("PAVE_BENCH_WRITES") != "" {
		if err := b.printWrites(seqs); err != nil {
			return err
		}
		seenMu.Lock()
		for _, l := range seen {
			fmt.Fprintf(os.Stderr, "SEEN %s\n", l)
		}
		seenMu.Unlock()
	}

	stop := make(chan struct{})
	if os.Getenv("PAVE_BENCH_BACKLOG") != "" {
		go b.probeBacklogs(stop)
	}
	rate, err := b.throughput(sagas, workers)
	close(stop)
	if err != nil {
		return err
	}
	lat, err := b.steadyLatency(10, steady)
	if err != nil {
		return err
	}
	limit := rawRate / float64(sagaWrites)
	fmt.Printf("RESULT env_saga_throughput %.1f sagas/s (create+teardown, redis driver)\n", rate)
	fmt.Printf("RESULT env_create_latency_p50 %.1f ms (at 10/s)\n", ms(lat[len(lat)/2]))
	fmt.Printf("RESULT env_create_latency_p99 %.1f ms (at 10/s)\n", ms(lat[len(lat)*99/100]))
	fmt.Printf("RESULT env_jetstream_writes_per_create %d writes\n", createWrites)
	fmt.Printf("RESULT env_jetstream_writes_per_saga %d writes (create+teardown)\n", sagaWrites)
	fmt.Printf("RESULT jetstream_raw_write_rate %.0f writes/s (sync always, 16 publishers)\n", rawRate)
	fmt.Printf("RESULT env_saga_physical_limit %.1f sagas/s\n", limit)
	fmt.Printf("RESULT env_saga_ratio_to_limit %.3f\n", rate/limit)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

// rawWriteRate is plain JetStream on the same server: concurrent
// publishers, each waiting for every ack, into a file stream.
func (b *envBench) rawWriteRate(n, publishers int) (float64, error) {
	ctx := context.Background()
	cfg := bus.ServiceStreams("rawbench", bus.DefaultStreamOptions())[1]
	if _, err := b.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return 0, err
	}
	payload := []byte(strings.Repeat("x", 512))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Go(func() {
			for i := p; i < n; i += publishers {
				if _, err := b.js.Publish(ctx, "pave.evt.rawbench.x", payload); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// writes is every append to every stream (KV buckets included) so far.
func (b *envBench) writes() (int, error) {
	ctx := context.Background()
	total := 0
	for name := range b.js.StreamNames(ctx).Name() {
		if strings.Contains(name, "rawbench") {
			continue
		}
		s, err := b.js.Stream(ctx, name)
		if err != nil {
			return 0, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return 0, err
		}
		total += int(info.State.LastSeq)
	}
	return total, nil
}

// lifecycle is one create then teardown.
func (b *envBench) lifecycle() error {
	id, _, err := b.create()
	if err != nil {
		return err
	}
	return b.teardown(id)
}

// settledWrites is writes once they have stopped moving: no append in
// 200ms, or after 5s whatever the count is then.
func (b *envBench) settledWrites() (int, error) {
	last, err := b.writes()
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		n, err := b.writes()
		if err != nil {
			return 0, err
		}
		if n == last {
			break
		}
		last = n
	}
	return last, nil
}

// lastSeqs is each stream's last sequence.
func (b *envBench) lastSeqs() (map[string]uint64, error) {
	ctx := context.Background()
	out := map[string]uint64{}
	for name := range b.js.StreamNames(ctx).Name() {
		s, err := b.js.Stream(ctx, name)
		if err != nil {
			return nil, err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return nil, err
		}
		out[name] = info.State.LastSeq
	}
	return out, nil
}

// printWrites lists, on stderr, the subjects written since seqs: where
// one lifecycle's writes go (PAVE_BENCH_WRITES=1).
func (b *envBench) printWrites(seqs map[string]uint64) error {
	ctx := context.Background()
	now, err := b.lastSeqs()
	if err != nil {
		return err
	}
	for name, last := range now {
		s, err := b.js.Stream(ctx, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "STREAM %s %d\n", name, last-seqs[name])
		for seq := seqs[name] + 1; seq <= last; seq++ {
			m, err := s.GetMsg(ctx, seq)
			if err != nil {
				fmt.Fprintf(os.Stderr, "WRITE %s #%d (gone: %v)\n", name, seq, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "WRITE %s #%d %s %s %dB\n", name, seq, m.Time.Format("15:04:05.000000"), m.Subject, len(m.Data))
		}
	}
	return nil
}

// throughput runs create-then-teardown sagas with workers at once.
func (b *envBench) throughput(sagas, workers int) (float64, error) {
	jobs := make(chan struct{}, sagas)
	for range sagas {
		jobs <- struct{}{}
	}
	close(jobs)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range jobs {
				id, _, err := b.create()
				if err == nil {
					err = b.teardown(id)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(sagas) / time.Since(start).Seconds(), nil
}

// steadyLatency starts perSecond creates a second for d and returns each
// one's time to ready, sorted.
func (b *envBench) steadyLatency(perSecond int, d time.Duration) ([]time.Duration, error) {
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	defer tick.Stop()
	end := time.After(d)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	var firstErr error
loop:
	for {
		select {
		case <-end:
			break loop
		case <-tick.C:
			wg.Go(func() {
				_, l, err := b.create()
				mu.Lock()
				defer mu.Unlock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				lat = append(lat, l)
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.Sort(lat)
	return lat, nil
}
