// Command webhookbench measures webhook ingest: signed GitHub deliveries
// sent at a fixed rate to the real receiver (HTTP over a socket, dedup in
// a KV bucket, the delivery stored on an embedded JetStream server with
// SyncAlways, the processor working them), from the scheduled send time
// to the answer, which the receiver gives only after the durable ack.
// Then it ramps the rate up until p99 > 20 ms or a request fails.
//
//	go run ./services/gateway/cmd/webhookbench
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/dedup"
	"github.com/pave-platform/pave/pkg/localsrv"
	"github.com/pave-platform/pave/pkg/natsfx"
	"github.com/pave-platform/pave/pkg/rpc"
	"github.com/pave-platform/pave/pkg/schema"
	"github.com/pave-platform/pave/services/gateway/internal/webhooks"
)

//go:embed push.json
var pushPayload []byte

const secret = "webhookbench-secret"

type options struct {
	rate     int
	duration time.Duration
	step     time.Duration
	target   time.Duration
	maxRate  int
	noWork   bool
	dedup    string
	storeDir string
}

func main() {
	var o options
	flag.IntVar(&o.rate, "rate", 500, "requests per second of the main run")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of the main run")
	flag.DurationVar(&o.step, "step", 3*time.Second, "length of each ramp step")
	flag.DurationVar(&o.target, "p99", 20*time.Millisecond, "p99 a sustained rate must keep")
	flag.IntVar(&o.maxRate, "max-rate", 8000, "stop the ramp here")
	flag.BoolVar(&o.noWork, "receive-only", false, "do not run the processor beside the receiver")
	flag.StringVar(&o.dedup, "dedup", "kv", "delivery-id store: kv (the embedded default) or redis (a local redis-server, as with PAVE_REDIS_URL)")
	flag.StringVar(&o.storeDir, "store-dir", "", "folder for the JetStream store (default: a temporary folder; /dev/shm shows the cost without disk syncs)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp(o.storeDir, "webhookbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	server := &serverSide{}
	url, stop, err := startReceiver(dir, !o.noWork, o.dedup, server)
	if err != nil {
		return err
	}
	defer stop()
	c := &sender{server: server, url: url, client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024}}}
	if _, err := c.runAt(200, time.Second); err != nil { // warm up connections and the store
		return err
	}
	main, err := c.runAt(o.rate, o.duration)
	if err != nil {
		return err
	}
	fmt.Printf("RESULT webhook_ingest_p50_ms=%.2f (dedup %s)\n", ms(main.p50), o.dedup)
	fmt.Printf("RESULT webhook_ingest_p99_ms=%.2f (dedup %s)\n", ms(main.p99), o.dedup)
	fmt.Printf("RESULT webhook_ingest_client_p50_ms=%.2f (client side, from the scheduled send)\n", ms(main.clientP50))
	fmt.Printf("RESULT webhook_ingest_client_p99_ms=%.2f (client side, from the scheduled send)\n", ms(main.clientP99))
	fmt.Printf("RESULT webhook_ingest_errors=%d at %d req/s for %s\n", main.errors, o.rate, o.duration)
	best := 0
	for rate := o.rate; rate <= o.maxRate; rate += max(o.rate/2, 1) {
		r, err := c.runAt(rate, o.step)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "ramp %5d req/s: p50 %.2f ms, p99 %.2f ms (client p99 %.2f ms), %d errors\n",
			rate, ms(r.p50), ms(r.p99), ms(r.clientP99), r.errors)
		if r.errors > 0 || r.p99 > o.target {
			break
		}
		best = rate
	}
	fmt.Printf("RESULT webhook_ingest_max_sustained_rps=%d (p99 <= %s, no errors, dedup %s)\n", best, o.target, o.dedup)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// startReceiver runs the receiver and the processor as the gateway does.
func startReceiver(dir string, work bool, store string, server *serverSide) (string, func(), error) {
	srv, err := natsfx.StartEmbedded(natsfx.EmbeddedConfig{StoreDir: filepath.Join(dir, "js"), Port: -1})
	if err != nil {
		return "", nil, err
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		srv.Shutdown()
		return "", nil, err
	}
	cleanup := func() { nc.Close(); srv.Shutdown() }
	url, stop, err := serve(dir, nc, work, store, server)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return url, func() { stop(); cleanup() }, nil
}

func serve(dir string, nc *nats.Conn, work bool, store string, server *serverSide) (string, func(), error) {
	ctx := context.Background()
	reg, err := schema.Default()
	if err != nil {
		return "", nil, err
	}
	b, err := bus.New(nc, reg, schema.SubjectFor)
	if err != nil {
		return "", nil, err
	}
	so := bus.DefaultStreamOptions()
	if err := bus.EnsureStreams(ctx, b.JetStream(), append(bus.CoreStreams(so), bus.ServiceStreams("gateway", so)...)...); err != nil {
		return "", nil, err
	}
	if err := os.Setenv("WEBHOOKBENCH_SECRET", secret); err != nil {
		return "", nil, err
	}
	file := filepath.Join(dir, "repositories.yaml")
	yaml := "repositories:\n  - provider: github\n    repository: Codertocat/Hello-World\n    team: demo\n    template: preview\n" +
		"    secrets: [{env: WEBHOOKBENCH_SECRET}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		return "", nil, err
	}
	repos, err := webhooks.LoadRepositories(file)
	if err != nil {
		return "", nil, err
	}
	seen, closeSeen, err := newStore(ctx, dir, store, b)
	if err != nil {
		return "", nil, err
	}
	log := slog.New(slog.DiscardHandler)
	var sub *bus.Subscription
	if work {
		proc := webhooks.NewProcessor(repos, caller{nc}, b, log)
		if sub, err = b.Subscribe(ctx, webhooks.ConsumerSpec(), proc.Handle); err != nil {
			return "", nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: server.wrap(webhooks.NewReceiver(repos, seen, b, log, nil).Handler()), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	stop := func() {
		_ = hs.Close()
		if sub != nil {
			_ = sub.Stop(context.Background())
		}
		closeSeen()
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// newStore is the KV bucket, or Redis (append-only file, fsync every
// second) as a scaled-out gateway with PAVE_REDIS_URL uses.
func newStore(ctx context.Context, dir, kind string, b *bus.Bus) (dedup.Store, func(), error) {
	if kind != "redis" {
		s, err := dedup.NewKV(ctx, b.JetStream(), "BENCH_DELIVERIES", 7*24*time.Hour, 1)
		return s, func() {}, err
	}
	srv, err := localsrv.StartRedis(ctx, localsrv.RedisConfig{Dir: filepath.Join(dir, "redis"), AppendOnly: true})
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 256})
	return dedup.NewRedis(rdb, "bench:", 7*24*time.Hour), func() { _ = rdb.Close(); _ = srv.Stop() }, nil
}

// serverSide records, per request, receipt (the handler's start) to the
// answer, which for a 202 comes after the durable acknowledgement.
type serverSide struct {
	mu      sync.Mutex
	samples []time.Duration
}

func (s *serverSide) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		s.mu.Lock()
		s.samples = append(s.samples, d)
		s.mu.Unlock()
	})
}

// take returns the samples since the last take.
func (s *serverSide) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.samples
	s.samples = nil
	return out
}

type caller struct{ nc *nats.Conn }

func (c caller) Call(ctx context.Context, subject string, req rpc.Request) (rpc.Reply, error) {
	return rpc.Call(ctx, c.nc, subject, req)
}

type sender struct {
	server *serverSide
	url    string
	client *http.Client
	seq    atomic.Int64
}

type result struct {
	p50, p99             time.Duration // server side: receipt to answer
	clientP50, clientP99 time.Duration // client side, from the scheduled send
	errors               int
}

// runAt sends rate requests per second for d, open loop: latency counts
// from each request's scheduled time, so a stall is not hidden.
func (s *sender) runAt(rate int, d time.Duration) (result, error) {
	n := int(float64(rate) * d.Seconds())
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	sig := webhooks.SignGitHub([]byte(secret), pushPayload)
	s.server.take()
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		time.Sleep(time.Until(at))
		wg.Go(func() {
			err := s.send(sig)
			lat[i] = time.Since(at)
			if err != nil {
				failed.Add(1)
				once.Do(func() { firstErr = err })
			}
		})
	}
	wg.Wait()
	if firstErr != nil && failed.Load() == int64(n) {
		return result{}, fmt.Errorf("every request failed: %w", firstErr)
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "at %d req/s, first error: %v\n", rate, firstErr)
	}
	if os.Getenv("WEBHOOKBENCH_TRACE") != "" {
		for sec := 0; sec*rate < n; sec++ {
			part := slices.Clone(lat[sec*rate : min(n, (sec+1)*rate)])
			slices.Sort(part)
			fmt.Fprintf(os.Stderr, "  second %d: p50 %.2f ms, max %.2f ms\n", sec, ms(part[len(part)/2]), ms(part[len(part)-1]))
		}
	}
	slices.Sort(lat)
	srv := s.server.take()
	slices.Sort(srv)
	return result{p50: srv[len(srv)/2], p99: srv[len(srv)*99/100], clientP50: lat[n/2], clientP99: lat[n*99/100],
		errors: int(failed.Load())}, nil
}

var errStatus = errors.New("unexpected status")

func (s *sender) send(sig string) error {
	req, err := http.NewRequest(http.MethodPost, s.url+"/v1/webhooks/github", bytes.NewReader(pushPayload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", os.Getpid(), s.seq.Add(1)))
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	return nil
}
