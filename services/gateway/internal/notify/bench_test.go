package notify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pave-platform/pave/services/gateway/internal/notify/domain"
)

// benchReceiver times each first arrival per path and webhook-id,
// verifying signatures with the reference library, and counts repeats.
type benchReceiver struct {
	mu      sync.Mutex
	secret  string
	first   map[string]time.Time
	repeats int
	bad     int
}

func (br *benchReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	br.mu.Lock()
	secret := br.secret
	br.mu.Unlock()
	if secret != "" {
		wh, _ := standardwebhooks.NewWebhook(secret)
		if wh.Verify(body, r.Header) != nil {
			br.mu.Lock()
			br.bad++
			br.mu.Unlock()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	key := r.URL.Path + " " + r.Header.Get("webhook-id")
	br.mu.Lock()
	if _, ok := br.first[key]; ok {
		br.repeats++
	} else {
		br.first[key] = now
	}
	br.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (br *benchReceiver) count() int { br.mu.Lock(); defer br.mu.Unlock(); return len(br.first) }

func waitCount(b *testing.B, br *benchReceiver, n int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if br.count() >= n {
			return true
		}
		time.Sleep(20 * time.Millisecond) // a benchmark's poll; tests use require.Eventually
	}
	b.Logf("received %d of %d", br.count(), n)
	return false
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// BenchmarkNotify prints RESULT lines: delivery latency (event stored →
// the receiver's 2xx) at 500 events/s; fan-out of events to 1,000
// subscriptions; delivered vs published across a deliverer crash (its
// connection closed under it, then a new deliverer). Run with
// -benchtime 1x.
func BenchmarkNotify(b *testing.B) {
	for range b.N {
		benchLatency(b)
		benchFanout(b)
		benchCrash(b)
	}
}

// benchConfig is the production default of workers, with fast retries.
func benchConfig() Config {
	c := testConfig()
	c.Workers = 32
	return c
}

func benchLatency(b *testing.B) {
	r := newRig(b, benchConfig())
	br := &benchReceiver{first: map[string]time.Time{}}
	srv := httptest.NewServer(br)
	defer srv.Close()
	_, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": srv.URL + "/hook"})
	br.secret = secret
	const rate, seconds = 500, 6
	sent := map[string]time.Time{}
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	for i := range rate * seconds {
		<-tick.C
		env := "env-" + strconv.Itoa(i%50)
		start := time.Now()
		id := r.transition("alpha", env, i/50+1, "ready", "updating")
		sent["/hook "+id] = start
	}
	if !waitCount(b, br, len(sent), 2*time.Minute) {
		b.Fatal("not every event arrived")
	}
	var lat []time.Duration
	br.mu.Lock()
	for k, t0 := range sent {
		lat = append(lat, br.first[k].Sub(t0))
	}
	bad := br.bad
	br.mu.Unlock()
	fmt.Printf("RESULT notify_delivery_p50_at_500_per_s %.1f ms\n", float64(percentile(lat, 0.50).Microseconds())/1000)
	fmt.Printf("RESULT notify_delivery_p99_at_500_per_s %.1f ms\n", float64(percentile(lat, 0.99).Microseconds())/1000)
	fmt.Printf("RESULT notify_delivery_signature_failures %d count\n", bad)
}

func benchFanout(b *testing.B) {
	r := newRig(b, benchConfig())
	br := &benchReceiver{first: map[string]time.Time{}}
	srv := httptest.NewServer(br)
	defer srv.Close()
	ctx := context.Background()
	const subs, events = 1000, 5
	for i := range subs {
		s, err := domain.NewSubscription(domain.Request{Team: "alpha", URL: srv.URL + "/hook/" + strconv.Itoa(i)},
			NewID("alpha"), "bench", "whsec_"+"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.svc.Stores.Subs.Create(ctx, s.ID, s); err != nil {
			b.Fatal(err)
		}
		r.svc.Index.Put(s)
	}
	start := time.Now()
	for i := range events {
		r.transition("alpha", "env-fan", i+1, "ready", "updating")
	}
	if !waitCount(b, br, subs*events, 5*time.Minute) {
		b.Fatal("fan-out incomplete")
	}
	d := time.Since(start)
	fmt.Printf("RESULT notify_fanout_1000_subscriptions_%d_events %.2f s\n", events, d.Seconds())
	fmt.Printf("RESULT notify_fanout_deliveries_per_s %.0f deliveries/s\n", float64(subs*events)/d.Seconds())
}

func benchCrash(b *testing.B) {
	r := newRig(b, benchConfig())
	br := &benchReceiver{first: map[string]time.Time{}}
	srv := httptest.NewServer(br)
	defer srv.Close()
	_, secret := r.subscribe("ana", map[string]any{"team": "alpha", "url": srv.URL + "/hook"})
	br.secret = secret
	const published = 2000
	var ids []string // in the order published; each subject's in its order
	for i := range published / 2 {
		ids = append(ids, r.transition("alpha", "env-"+strconv.Itoa(i%20), i/20+1, "ready", "updating"))
	}
	waitCount(b, br, published/4, time.Minute)
	r.nc.Close() // the deliverer dies with deliveries in flight
	r.stop()
	r.connect()
	for i := published / 2; i < published; i++ {
		ids = append(ids, r.transition("alpha", "env-"+strconv.Itoa(i%20), i/20+1, "ready", "updating"))
	}
	r.start()
	waitCount(b, br, published, 3*time.Minute)
	br.mu.Lock()
	defer br.mu.Unlock()
	fmt.Printf("RESULT notify_crash_published %d events\n", published)
	fmt.Printf("RESULT notify_crash_delivered %d events\n", len(br.first))
	fmt.Printf("RESULT notify_crash_sent_again %d deliveries\n", br.repeats)
	// An event that arrived before one published earlier on its subject.
	late, latest := 0, map[int]time.Time{}
	for i, id := range ids {
		t, ok := br.first["/hook "+id]
		if ok && t.Before(latest[i%20]) {
			late++
		}
		if t.After(latest[i%20]) {
			latest[i%20] = t
		}
	}
	fmt.Printf("RESULT notify_crash_out_of_order %d events\n", late)
}
