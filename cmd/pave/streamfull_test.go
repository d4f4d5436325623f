package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// A stream filled on purpose (1 MiB limits) is alerted on (event, metric,
// /readyz warning); at its limit an environment create answers 503 naming
// the stream before anything is made, not a half-made environment; once
// the limit is raised the same create goes through to ready and the
// environment made before is untouched.
func TestFullStreamRefusesCreatesCleanlyAndRecovers(t *testing.T) {
	p := startPlatform(t, "../../deploy/templates", map[string]string{
		"PAVE_STREAM_MAX_BYTES": "1048576", "PAVE_STREAM_FILL_INTERVAL": "1s"})
	before := p.create(map[string]any{"team": "payments", "name": "before", "template": "redis-cache", "stage": "dev"})
	p.waitState(before, "ready")

	// The fillers are not CloudEvents: the consumers that read the whole
	// stream (the outbound fan-out) dead-letter them, each with its reason.
	// The DLQ gets room for them, so that only EVT_LIFECYCLE is full here.
	raiseLimit(t, p.js, bus.StreamDLQ, 64<<20)
	fillToLimit(t, p.js, "EVT_LIFECYCLE", "pave.evt.lifecycle.test.filler")

	var ready map[string]any
	require.Eventually(t, func() bool {
		_, ready = getJSON(t, p.base+"/readyz", "")
		return strings.Contains(strings.Join(anyStrings(ready["warnings"]), " "), "stream EVT_LIFECYCLE is ")
	}, 30*time.Second, 100*time.Millisecond, "/readyz never warned of EVT_LIFECYCLE: %v", &ready)
	assert.Equal(t, "ok", ready["status"], "a full stream warns; the process still serves reads")
	// The alert is published by the same reading that warns; it may be
	// stored a moment after /readyz shows the warning.
	var alerts []string
	require.Eventually(t, func() bool {
		alerts = streamAlerts(t, p.js, "EVT_LIFECYCLE")
		return len(alerts) > 0
	}, 30*time.Second, 100*time.Millisecond, "no fill alert for EVT_LIFECYCLE on EVT_PLATFORM")
	require.Equal(t, []string{events.TypeStreamFilling}, alerts, "one filling alert for EVT_LIFECYCLE")
	// The metric follows the monitor's next reading (every second here).
	fill := regexp.MustCompile(`pave_stream_fill_ratio\{[^}]*stream="EVT_LIFECYCLE"[^}]*\} [0-9.e-]+`)
	nearFull := regexp.MustCompile(`\} 0\.9[89]`)
	var last string
	require.Eventually(t, func() bool {
		_, _, metrics := get(t, p.base+"/metrics", "")
		last = fill.FindString(string(metrics))
		return nearFull.MatchString(last)
	}, 30*time.Second, 200*time.Millisecond, "the fill is a metric: last read %q", &last)

	body := map[string]any{"team": "payments", "name": "refused", "template": "redis-cache", "stage": "dev"}
	code, header, problem := p.raw(http.MethodPost, "/v1/environments", body)
	require.Equal(t, http.StatusServiceUnavailable, code, "%v", problem)
	assert.Equal(t, "30", header.Get("Retry-After"))
	assert.Equal(t, []any{"EVT_LIFECYCLE"}, problem["streams"])
	assert.Contains(t, problem["detail"], "stream EVT_LIFECYCLE is ")
	assert.Contains(t, problem["detail"], "nothing was changed")
	code, list := p.do(http.MethodGet, "/v1/environments?team=payments&name=refused", nil)
	require.Equal(t, http.StatusOK, code, "reads go on while a stream is full: %v", list)
	assert.Empty(t, list["items"], "the refused create left no environment behind")

	// The operator raises the limit (as PAVE_STREAM_MAX_BYTES would at the
	// next start); within a reading, creates are taken again.
	raiseLimit(t, p.js, "EVT_LIFECYCLE", 64<<20)
	id := p.createOnceAccepted(t, body, "creates were still refused after the limit was raised")
	p.waitState(id, "ready")
	assert.Equal(t, "ready", p.waitState(before, "ready")["state"], "the environment made before is untouched")
	require.Eventually(t, func() bool {
		return len(streamAlerts(t, p.js, "EVT_LIFECYCLE")) == 2
	}, 30*time.Second, 100*time.Millisecond, "no cleared alert for EVT_LIFECYCLE")
	assert.Equal(t, []string{events.TypeStreamFilling, events.TypeStreamCleared}, streamAlerts(t, p.js, "EVT_LIFECYCLE"))
	_, ready = getJSON(t, p.base+"/readyz", "")
	assert.Nil(t, ready["warnings"], "no warning once it cleared")
}

// fillToLimit publishes 16 KiB messages on subject (which no consumer
// reads) until stream refuses one.
func fillToLimit(t *testing.T, js jetstream.JetStream, stream, subject string) {
	t.Helper()
	ctx := context.Background()
	pad := bytes.Repeat([]byte("x"), 16<<10)
	for i := 0; ; i++ {
		require.Less(t, i, 200, "%s never refused a message", stream)
		if _, err := js.Publish(ctx, subject, pad); err != nil {
			require.Contains(t, err.Error(), "maximum bytes exceeded")
			return
		}
	}
}

// createOnceAccepted posts body to /v1/environments until it is
// accepted (within 30 s) and returns the new environment's id.
func (p *platform) createOnceAccepted(t *testing.T, body any, why string) string {
	t.Helper()
	var id string
	require.Eventually(t, func() bool {
		code, out := p.do(http.MethodPost, "/v1/environments", body)
		if code == http.StatusAccepted {
			id = out["environment"].(map[string]any)["id"].(string)
		}
		return code == http.StatusAccepted
	}, 30*time.Second, 200*time.Millisecond, why)
	return id
}

func raiseLimit(t *testing.T, js jetstream.JetStream, stream string, maxBytes int64) {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	cfg.MaxBytes = maxBytes
	_, err = js.UpdateStream(ctx, cfg)
	require.NoError(t, err)
}

// streamAlerts are the types of the fill events about stream, in order.
func streamAlerts(t *testing.T, js jetstream.JetStream, stream string) []string {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, bus.StreamPlatform)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	var out []string
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // a deleted message
		}
		e, err := bus.Decode(m.Header, m.Data)
		if err != nil || (e.Type() != events.TypeStreamFilling && e.Type() != events.TypeStreamCleared) {
			continue
		}
		var f events.StreamFill
		require.NoError(t, json.Unmarshal(e.Data(), &f))
		if f.Stream == stream {
			out = append(out, e.Type())
		}
	}
	return out
}

func getJSON(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	code, _, raw := get(t, url, token)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// raw is do with the response headers.
func (p *platform) raw(method, path string, body any) (int, http.Header, map[string]any) {
	p.t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(p.t, err)
	req, err := http.NewRequest(method, p.base+path, bytes.NewReader(raw))
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, resp.Header, out
}
