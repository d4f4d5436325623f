package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
)

// runAPIBench measures GET /v1/environments over real HTTP, through the
// gateway (authentication, rate limit, authorization, audit) and
// lifecycle, with -environments stored environments, and prints RESULT
// lines. The environments are made through lifecycle's public API, by
// sagas like any other, from a template (bench-list) of one resource that
// the http driver makes in a fake cloud API in this process: the list is
// measured, not a provisioner, and nothing is written into another
// service's store.
func runAPIBench(args []string) error {
	fs := flag.NewFlagSet("pave bench-api", flag.ContinueOnError)
	n := fs.Int("environments", 10000, "environments stored")
	requests := fs.Int("requests", 200, "list requests measured")
	workers := fs.Int("workers", 64, "concurrent creates while filling")
	templates := fs.String("templates", "deploy/templates", "template folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "pave-apibench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tpls, err := benchTemplates(dir, *templates)
	if err != nil {
		return err
	}
	cloud := httptest.NewServer(fakeCloudAPI())
	defer cloud.Close()
	pools := filepath.Join(dir, "pools.yaml")
	if err := os.WriteFile(pools, []byte(benchPools), 0o600); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"PAVE_DATA_DIR": dir, "PAVE_HTTP_ADDR": "127.0.0.1:0", "PAVE_NATS_EMBEDDED_ADDR": "off",
		"PAVE_BOOTSTRAP_TOKEN_FILE": filepath.Join(dir, "token"), "PAVE_RUNNER_POOL": "batch",
		"PAVE_LOG_LEVEL": envOr("PAVE_LOG_LEVEL", "error"), "PAVE_TEMPLATES_DIR": tpls,
		"PAVE_SCHEDULER_CONFIG": pools, "PAVE_PROVISIONING_HTTP_URL": cloud.URL,
		// Reconcile must not run over 10,000 environments while we
		// measure the list.
		"PAVE_LIFECYCLE_RECONCILE_INTERVAL": "1h",
		"PAVE_RATE_LIMIT_PER_MINUTE":        "100000", "PAVE_RATE_LIMIT_BURST": "100000",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	var srv *httpfx.Server
	var nc *nats.Conn
	var js jetstream.JetStream
	app := fx.New(devApp(io.Discard), fx.Populate(&srv, &nc, &js), fx.NopLogger)
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
	b := &envBench{nc: nc, js: js}
	if err := b.watch(); err != nil {
		return err
	}
	if err := b.fill(*n, *workers); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "made %d environments in %s\n", *n, time.Since(start).Round(time.Millisecond))

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

// benchTemplates copies the template folder into dir with one more
// template, bench-list, whose one resource is made by the http driver in
// fakeCloudAPI, and returns the copy.
func benchTemplates(dir, from string) (string, error) {
	out := filepath.Join(dir, "templates")
	if err := os.CopyFS(out, os.DirFS(from)); err != nil {
		return "", fmt.Errorf("copy templates: %w", err)
	}
	return out, os.WriteFile(filepath.Join(out, "bench-list.yaml"), []byte(benchListTemplate), 0o600)
}

const benchListTemplate = `# pave bench-api's environments: one resource of the bench's fake cloud.
name: bench-list
version: 1.0.0
description: An environment of one fake-cloud resource, for measuring the list.
owner: platform
cost_class: service
resources:
  - {name: api, driver: http, class: small, sanitize: keep}
lifecycle:
  stages: [dev]
  ephemeral: false
`

// fill makes n ready bench-list environments of two teams, workers at a
// time, through lifecycle's create API, and waits for each to be ready.
func (b *envBench) fill(n, workers int) error {
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				if _, err := b.createIn([]string{"payments", "search"}[i%2], fmt.Sprintf("bench-%05d", i), "bench-list"); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case work <- i:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// fakeCloudAPI stands in for a cloud provisioner we cannot run here: the
// http driver's protocol (see provisioning's adapters/httpdriver.go), with
// resources kept in memory.
func fakeCloudAPI() http.Handler {
	var mu sync.Mutex
	made := map[string]string{} // id -> name
	mux := http.NewServeMux()
	mux.HandleFunc("POST /resources", func(w http.ResponseWriter, r *http.Request) {
		var res struct{ ID, Name string }
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil || res.ID == "" {
			http.Error(w, "want a resource with an id", http.StatusBadRequest)
			return
		}
		mu.Lock()
		made[res.ID] = res.Name
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"external_ids": []string{"fake-" + res.ID},
			"outputs": map[string]string{"url": "https://" + res.ID + ".fake-cloud.invalid"}})
	})
	mux.HandleFunc("PUT /resources/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	mux.HandleFunc("POST /resources/{id}/sanitize", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /resources/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		_, ok := made[r.PathValue("id")]
		delete(made, r.PathValue("id"))
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /resources", func(w http.ResponseWriter, r *http.Request) {
		type item struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		mu.Lock()
		items := make([]item, 0, len(made))
		for id, name := range made {
			items = append(items, item{id, name})
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"resources": items})
	})
	return mux
}
