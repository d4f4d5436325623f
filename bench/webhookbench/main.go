// Command webhookbench measures webhook ingest: signed GitHub deliveries
// sent at a fixed rate to the real gateway (gateway.Module on the
// platform, as pave dev runs it: HTTP over a socket, dedup in a KV bucket
// or Redis, the delivery stored on an embedded JetStream server with
// SyncAlways, the processor working them), from the scheduled send time
// to the answer, which the receiver gives only after the durable ack.
// Then it ramps the rate up until p99 > 20 ms or a request fails. It uses
// public APIs only: the gateway's Module and its webhook HTTP contract.
//
//	go run ./bench/webhookbench
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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
	url, stop, err := startGateway(dir, o.dedup)
	if err != nil {
		return err
	}
	defer stop()
	c := &sender{url: url, client: &http.Client{Timeout: 10 * time.Second,
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

type sender struct {
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
	sig := signGitHub([]byte(secret), pushPayload)
	srv := make([]time.Duration, n)
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		time.Sleep(time.Until(at))
		wg.Go(func() {
			var err error
			srv[i], err = s.send(sig)
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
	slices.Sort(srv)
	return result{p50: srv[len(srv)/2], p99: srv[len(srv)*99/100], clientP50: lat[n/2], clientP99: lat[n*99/100],
		errors: int(failed.Load())}, nil
}

var errStatus = errors.New("unexpected status")

// send posts one delivery and returns the server-side time: from the
// request written to the first byte of the answer (httptrace), which for
// a 202 comes after the durable acknowledgement.
func (s *sender) send(sig string) (time.Duration, error) {
	var wrote, first time.Time
	trace := &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { wrote = time.Now() },
		GotFirstResponseByte: func() { first = time.Now() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		http.MethodPost, s.url+"/v1/webhooks/github", bytes.NewReader(pushPayload))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("bench-%d-%d", os.Getpid(), s.seq.Add(1)))
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	d := first.Sub(wrote)
	if resp.StatusCode != http.StatusAccepted {
		return d, fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	return d, nil
}

// signGitHub is GitHub's X-Hub-Signature-256: the hex HMAC-SHA256 of the
// raw body under the webhook's secret.
func signGitHub(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
