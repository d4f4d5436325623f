package main

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
)

// runAPIBench measures GET /v1/environments over real HTTP, through the
// gateway (authentication, rate limit, authorization, audit) and
// lifecycle, with -environments stored environments, and prints RESULT
// lines. The environments are written straight into lifecycle's store
// (the LIFECYCLE_ENVIRONMENTS bucket, in the JSON lifecycle keeps there):
// building 10,000 through sagas would measure the sagas, not the list.
func runAPIBench(args []string) error {
	fs := flag.NewFlagSet("pave bench-api", flag.ContinueOnError)
	n := fs.Int("environments", 10000, "environments stored")
	requests := fs.Int("requests", 200, "list requests measured")
	templates := fs.String("templates", "deploy/templates", "template folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pave-apibench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for k, v := range map[string]string{
		"PAVE_DATA_DIR": dir, "PAVE_HTTP_ADDR": "127.0.0.1:0", "PAVE_NATS_EMBEDDED_ADDR": "off",
		"PAVE_BOOTSTRAP_TOKEN_FILE": filepath.Join(dir, "token"), "PAVE_RUNNER_POOL": "batch",
		"PAVE_LOG_LEVEL": envOr("PAVE_LOG_LEVEL", "error"), "PAVE_TEMPLATES_DIR": *templates,
		"PAVE_SCHEDULER_CONFIG": envOr("PAVE_SCHEDULER_CONFIG", "deploy/scheduler/pools.yaml"),
		// The stored environments are ready: nothing for reconcile to do,
		// and it must not run over 10,000 of them while we measure.
		"PAVE_LIFECYCLE_RECONCILE_INTERVAL": "1h",
		"PAVE_RATE_LIMIT_PER_MINUTE":        "100000", "PAVE_RATE_LIMIT_BURST": "100000",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	var srv *httpfx.Server
	var js jetstream.JetStream
	app := fx.New(devApp(io.Discard), fx.Populate(&srv, &js), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer app.Stop(context.Background())
	raw, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(raw))
	base := "http://" + srv.Addr()

	start := time.Now()
	if err := storeEnvironments(ctx, js, *n); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "stored %d environments in %s\n", *n, time.Since(start).Round(time.Millisecond))

	client := &http.Client{Timeout: time.Minute}
	list := func(path string) (time.Duration, int, error) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		d := time.Since(t0)
		if resp.StatusCode != http.StatusOK || err != nil {
			return 0, 0, fmt.Errorf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return d, len(page.Items), nil
	}
	// Warm up, and check every environment is there: page to the end.
	if _, got, err := list("/v1/environments?limit=1000"); err != nil || got != min(*n, 1000) {
		return fmt.Errorf("first page: %d items, %v", got, err)
	}
	lat := make([]time.Duration, 0, *requests)
	for range *requests {
		d, got, err := list("/v1/environments")
		if err != nil {
			return err
		}
		if got != min(*n, 100) {
			return fmt.Errorf("a page of %d items, want %d", got, min(*n, 100))
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	fmt.Printf("RESULT list_environments_p50_ms=%.1f ms (GET /v1/environments, first page of 100, %d stored)\n", ms(lat[len(lat)/2]), *n)
	fmt.Printf("RESULT list_environments_p99_ms=%.1f ms (GET /v1/environments, first page of 100, %d stored)\n", ms(lat[len(lat)*99/100]), *n)
	return nil
}

// storeEnvironments writes n ready environments of two teams into
// lifecycle's bucket, as lifecycle stores them.
func storeEnvironments(ctx context.Context, js jetstream.JetStream, n int) error {
	kv, err := js.KeyValue(ctx, "LIFECYCLE_ENVIRONMENTS")
	if err != nil {
		return fmt.Errorf("open lifecycle's store: %w", err)
	}
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	now := time.Now().UTC()
	work := make(chan int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				var b [8]byte
				binary.BigEndian.PutUint64(b[:], uint64(i+1)<<32) // the id keeps the top 60 bits
				id := "env-" + enc.EncodeToString(b[:])[:12]
				at := now.Add(-time.Duration(n-i) * time.Second)
				team := []string{"payments", "search"}[i%2]
				env := map[string]any{
					"id": id, "team": team, "name": fmt.Sprintf("bench-%05d", i), "template": "redis-cache",
					"version": "1.0.0", "stage": "dev", "parameters": map[string]any{},
					"revision": 1, "revisions": []map[string]any{{"number": 1, "parameters": map[string]any{}, "created_at": at, "by": "bench"}},
					"state": "ready", "resources": []map[string]any{{"name": "cache", "id": id + "-cache", "driver": "redis",
						"class": "small", "state": "ready", "outputs": map[string]string{"host": "127.0.0.1", "port": "6379"}}},
					"ephemeral": false, "created_at": at, "updated_at": at, "seq": 4,
				}
				raw, err := json.Marshal(env)
				if err == nil {
					_, err = kv.Put(ctx, "env."+id, raw)
				}
				if err == nil {
					_, err = kv.Put(ctx, "name."+team+"."+env["name"].(string), []byte(id))
				}
				if err != nil {
					select {
					case errs <- fmt.Errorf("store environment %s: %w", id, err):
					default:
					}
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
