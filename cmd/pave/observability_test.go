package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/pave-platform/pave/pkg/httpfx"
	"github.com/pave-platform/pave/pkg/logfx"
	"github.com/pave-platform/pave/pkg/otelfx"
	"github.com/pave-platform/pave/pkg/testkit"
)

// metricsList is the list of the metrics Pave exports, which the Grafana
// dashboard may query (deploy/deploytest checks it does not query others).
const metricsList = "../../deploy/grafana/metrics.txt"

// observed is `pave dev` in this process with an in-memory span recorder
// next to the process's tracer provider and its logs in a buffer.
type observed struct {
	platform
	spans *tracetest.SpanRecorder
	logs  *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startObserved(t *testing.T) *observed {
	t.Helper()
	pg, rd := testkit.Postgres(t), testkit.Redis(t)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"PAVE_PROVISIONING_POSTGRES_URL": pg.URL(), "PAVE_PROVISIONING_REDIS_URL": rd.URL(),
		"PAVE_LIFECYCLE_RETRY_BACKOFF": "20ms", "PAVE_LIFECYCLE_RECONCILE_INTERVAL": "200ms",
		"PAVE_TEMPLATES_DIR": "../../deploy/templates", "PAVE_SCHEDULER_CONFIG": "../../deploy/scheduler/pools.yaml",
		"PAVE_RUNNER_POOL": "batch", "PAVE_DATA_DIR": dir, "PAVE_HTTP_ADDR": "127.0.0.1:0",
		"PAVE_NATS_EMBEDDED_ADDR": "off", "PAVE_BOOTSTRAP_TOKEN_FILE": filepath.Join(dir, "token"),
		"PAVE_LOG_LEVEL": "debug", "PAVE_LOG_FORMAT": "json",
	} {
		t.Setenv(k, v)
	}
	o := &observed{spans: tracetest.NewSpanRecorder(), logs: &syncBuffer{}}
	var srv *httpfx.Server
	var js jetstream.JetStream
	app := fx.New(devApp(io.Discard),
		fx.Provide(otelfx.AsSpanProcessor(func() sdktrace.SpanProcessor { return o.spans })),
		fx.Decorate(func(cfg logfx.Config) (*slog.Logger, error) { return logfx.New(cfg, o.logs) }),
		fx.Populate(&srv, &js), fx.NopLogger)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, app.Start(ctx))
	t.Cleanup(func() { stopDev(t, app) })
	token, err := readToken(dir)
	require.NoError(t, err)
	o.platform = platform{t: t, base: "http://" + srv.Addr(), token: token, js: js, pg: pg.URL()}
	return o
}

// One environment creation is one trace: the gateway's request span is
// its root, and the lifecycle call, every saga command and every driver
// call that provisioning makes descend from it. The logs of its handlers
// carry its trace id.
func TestTraceOfAnEnvironmentCreationSpansGatewayToDrivers(t *testing.T) {
	o := startObserved(t)
	id := o.create(map[string]any{"team": "payments", "name": "traced", "template": "web-service", "stage": "dev"})
	o.waitState(id, "ready")

	spans := o.spans.Ended()
	root := findSpan(t, spans, func(s sdktrace.ReadOnlySpan) bool {
		return s.Name() == "POST gateway" && attrOf(s, "url.path") == "/v1/environments"
	})
	assert.False(t, root.Parent().IsValid(), "the gateway's span is the root")
	tree := spansOf(spans, root.SpanContext().TraceID())
	path := func(s sdktrace.ReadOnlySpan) []string { return ancestry(tree, s) }

	create := findSpan(t, tree, func(s sdktrace.ReadOnlySpan) bool {
		return s.Name() == "pave-lifecycle pave.lifecycle.api.environments.create"
	})
	assert.Equal(t, []string{"pave-lifecycle pave.lifecycle.api.environments.create",
		"call pave.lifecycle.api.environments.create", "POST gateway"}, path(create))

	// A command redelivered under load calls its driver again: a set.
	drivers := map[string]bool{}
	for _, s := range tree {
		if !strings.HasPrefix(s.Name(), "driver ") {
			continue
		}
		drivers[s.Name()] = true
		assert.Equal(t, []string{s.Name(), "handle dev.pave.cmd.provisioning.provision.v1",
			"saga publish dev.pave.cmd.provisioning.provision.v1"}, path(s)[:3], "a driver call is made for a saga command")
		assert.Equal(t, path(create), path(s)[3:], "the saga runs in the trace of the create call")
	}
	assert.Equal(t, map[string]bool{"driver nats provision": true, "driver postgres provision": true, "driver redis provision": true},
		drivers, "each resource's driver call is in the trace")

	for _, s := range spans {
		if attrOf(s, "saga.id") == id+".create.1" {
			assert.Equal(t, root.SpanContext().TraceID(), s.SpanContext().TraceID(), "%s is outside the trace", s.Name())
		}
	}
	assert.Contains(t, o.logs.String(), `"trace_id":"`+root.SpanContext().TraceID().String()+`"`,
		"the handlers' logs carry the trace id")
}

// /metrics serves the figures the dashboard reads, and exactly the pave_
// metrics deploy/grafana/metrics.txt lists (PAVE_UPDATE_METRICS=1 rewrites
// the list).
func TestMetricsServeWhatTheDashboardReads(t *testing.T) {
	o := startObserved(t)
	o.waitState(o.create(map[string]any{"team": "payments", "name": "counted", "template": "redis-cache", "stage": "dev"}), "ready")
	// A message that is no CloudEvent is dead-lettered by provisioning.
	_, err := o.js.Publish(context.Background(), "pave.cmd.provisioning.provision", []byte("not an event"))
	require.NoError(t, err)
	// A webhook delivery is timed even when it is refused (no signature).
	resp, err := http.Post(o.base+"/v1/webhooks/github", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	var families map[string]string
	require.Eventually(t, func() bool {
		families = scrapeFamilies(t, o.base+"/metrics")
		_, dead := families["pave_bus_dead_letters_total"]
		_, webhook := families["pave_webhook_ingest_seconds"]
		return dead && webhook
	}, 20*time.Second, 100*time.Millisecond, "no dead letter counted: %v\n%s", &families, o.logs)

	var got []string
	for name, typ := range families {
		if strings.HasPrefix(name, "pave_") {
			got = append(got, name+" "+typ)
		}
	}
	sort.Strings(got)
	if os.Getenv("PAVE_UPDATE_METRICS") == "1" {
		require.NoError(t, os.WriteFile(metricsList, []byte(metricsHeader+strings.Join(got, "\n")+"\n"), 0o644))
	}
	raw, err := os.ReadFile(metricsList)
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	assert.Equal(t, want, got, "the metrics served and %s differ; run with PAVE_UPDATE_METRICS=1 and update the dashboard", metricsList)
}

const metricsHeader = `# The Prometheus metrics Pave serves on /metrics: name and type.
# Written by cmd/pave TestMetricsServeWhatTheDashboardReads (PAVE_UPDATE_METRICS=1),
# which fails when /metrics and this list differ; deploy/deploytest fails
# when deploy/grafana/pave.json queries a metric not listed here.
`

// scrapeFamilies reads the # TYPE lines of a Prometheus text exposition.
func scrapeFamilies(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			out[f[2]] = f[3]
		}
	}
	return out
}

func findSpan(t *testing.T, spans []sdktrace.ReadOnlySpan, match func(sdktrace.ReadOnlySpan) bool) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if match(s) {
			return s
		}
	}
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.Name())
	}
	require.FailNow(t, "no such span", "spans: %v", names)
	return nil
}

func spansOf(spans []sdktrace.ReadOnlySpan, id trace.TraceID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.SpanContext().TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

// ancestry names s and its ancestors within tree, nearest first.
func ancestry(tree []sdktrace.ReadOnlySpan, s sdktrace.ReadOnlySpan) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, x := range tree {
		byID[x.SpanContext().SpanID()] = x
	}
	var out []string
	for cur, ok := s, true; ok; cur, ok = byID[cur.Parent().SpanID()] {
		out = append(out, cur.Name())
	}
	return out
}

func attrOf(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}
