package bus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/pave-platform/pave/pkg/bus"
	"github.com/pave-platform/pave/pkg/events"
)

// A stream past the warn ratio shows in the gauge, in the readiness
// warnings and in one filling event, however many processes watch it and
// however often they look; once the limit is raised it clears, with one
// cleared event.
func TestFillingStreamIsAnnouncedOncePerCrossing(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	o := bus.DefaultStreamOptions()
	o.MaxBytes = 64 << 10
	evt := bus.ServiceStreams("fill", o)[1]
	require.NoError(t, bus.EnsureStreams(ctx, env.js, evt))

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	one := startMonitor(t, env, mp)
	other := startMonitor(t, env, nil) // a second process
	assert.Empty(t, one.Filling(), "nothing fills at start")

	pad := []byte(strings.Repeat("x", 1<<10))
	for range 52 { // 52 KiB of data and headers: above 80 % of 64 KiB
		_, err := env.js.Publish(ctx, "pave.evt.fill.thing.x", pad)
		require.NoError(t, err)
	}
	for range 3 {
		require.NoError(t, one.Check(ctx))
		require.NoError(t, other.Check(ctx))
	}

	ratio := fillRatios(t, reader)["EVT_FILL"]
	assert.Greater(t, ratio, 0.8, "pave_stream_fill_ratio{stream=EVT_FILL}")
	assert.Less(t, ratio, 0.95)
	assert.Contains(t, fillRatios(t, reader), bus.StreamAudit, "every stream with a limit has a figure")
	require.Len(t, one.Filling(), 1)
	assert.Equal(t, "EVT_FILL", one.Filling()[0].Stream)
	assert.Empty(t, one.Full(), "above warn, below refuse")
	require.Len(t, other.Warnings(ctx), 1)
	assert.Contains(t, other.Warnings(ctx)[0], "stream EVT_FILL is 85% full")
	alerts := fillAlerts(t, env.js)
	require.Len(t, alerts, 1, "one alert for one crossing: %v", alerts)
	assert.Equal(t, events.TypeStreamFilling, alerts[0].typ)
	assert.Equal(t, "EVT_FILL", alerts[0].data.Stream)
	// The alert carries the reading that crossed: the monitors' own loops
	// (every 50 ms) may have read while the writes above went on, so it
	// lies between the warn ratio and the last reading.
	assert.GreaterOrEqual(t, alerts[0].data.FillRatio, bus.DefaultFillOptions().Warn, "the crossing's reading")
	assert.LessOrEqual(t, alerts[0].data.FillRatio, ratio, "no reading above the last one")
	assert.EqualValues(t, 64<<10, alerts[0].data.MaxBytes)

	for range 12 { // to the limit: refused writes from here on
		_, _ = env.js.Publish(ctx, "pave.evt.fill.thing.x", pad)
	}
	require.Len(t, one.FullNow(ctx), 1, "a filling stream is read again: full before the next reading")
	require.NoError(t, one.Check(ctx))
	require.Len(t, one.Full(), 1, "at the limit the stream is full")
	assert.Empty(t, one.Full("EVT_FILL"), "unless left out")
	assert.Contains(t, one.Warnings(ctx)[0], "writes are refused")
	assert.Len(t, fillAlerts(t, env.js), 1, "still the same crossing")

	evt.MaxBytes = 1 << 20 // the operator raises the limit
	require.NoError(t, bus.EnsureStreams(ctx, env.js, evt))
	require.NoError(t, other.Check(ctx))
	require.NoError(t, one.Check(ctx))
	assert.Empty(t, one.Filling())
	assert.Empty(t, one.Warnings(ctx))
	alerts = fillAlerts(t, env.js)
	require.Len(t, alerts, 2, "one more alert when it clears: %v", alerts)
	assert.Equal(t, events.TypeStreamCleared, alerts[1].typ)
	assert.Less(t, alerts[1].data.FillRatio, 0.1)
}

// The monitor's own loop reads again every interval and stops on Stop.
func TestFillMonitorReadsEveryInterval(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	o := bus.DefaultStreamOptions()
	o.MaxBytes = 64 << 10
	require.NoError(t, bus.EnsureStreams(ctx, env.js, bus.ServiceStreams("fill", o)[1]))
	m := startMonitor(t, env, nil)
	_, err := env.js.Publish(ctx, "pave.evt.fill.thing.x", make([]byte, 60<<10))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(m.Filling()) == 1 }, 30*time.Second, 20*time.Millisecond,
		"the periodic reading never saw EVT_FILL filling: %v", m.Fills())
}

func TestFillOptionsAreChecked(t *testing.T) {
	env := newEnv(t)
	for _, o := range []bus.FillOptions{{Interval: time.Second, Warn: 0.9, Refuse: 0.8}, {Interval: 0, Warn: 0.5, Refuse: 0.9},
		{Interval: time.Second, Warn: 0.5, Refuse: 1.5}} {
		_, err := bus.NewFillMonitor(env.bus, o, nil, nil)
		assert.Error(t, err, "%+v", o)
	}
}

func startMonitor(t *testing.T, env *env, mp *sdkmetric.MeterProvider) *bus.FillMonitor {
	t.Helper()
	o := bus.DefaultFillOptions()
	o.Interval = 50 * time.Millisecond
	var m *bus.FillMonitor
	var err error
	if mp == nil {
		m, err = bus.NewFillMonitor(env.bus, o, nil, nil)
	} else {
		m, err = bus.NewFillMonitor(env.bus, o, mp, nil)
	}
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, m.Stop(ctx))
	})
	return m
}

func fillRatios(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	out := map[string]float64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			g, ok := m.Data.(metricdata.Gauge[float64])
			if m.Name != "pave_stream_fill_ratio" || !ok {
				continue
			}
			for _, p := range g.DataPoints {
				s, _ := p.Attributes.Value("stream")
				out[s.AsString()] = p.Value
			}
		}
	}
	return out
}

type fillAlert struct {
	typ  string
	data events.StreamFill
}

// fillAlerts are the stream fill events about EVT_FILL in EVT_PLATFORM.
func fillAlerts(t *testing.T, js jetstream.JetStream) []fillAlert {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, bus.StreamPlatform)
	require.NoError(t, err)
	info, err := st.Info(ctx)
	require.NoError(t, err)
	var out []fillAlert
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		require.NoError(t, err)
		e, err := bus.Decode(m.Header, m.Data)
		require.NoError(t, err)
		var f events.StreamFill
		require.NoError(t, json.Unmarshal(e.Data(), &f))
		if f.Stream == "EVT_FILL" {
			out = append(out, fillAlert{e.Type(), f})
		}
	}
	return out
}

// A KV bucket with a byte limit is the stream KV_<bucket> and fills like
// any other; one without a limit has no figure.
func TestKVBucketWithALimitIsWatched(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	kv, err := env.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "LIMITED", MaxBytes: 64 << 10})
	require.NoError(t, err)
	_, err = env.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "UNLIMITED"})
	require.NoError(t, err)
	for i := range 55 {
		_, err := kv.Put(ctx, fmt.Sprintf("k%d", i), make([]byte, 1<<10))
		require.NoError(t, err)
	}
	m := startMonitor(t, env, nil)
	require.NoError(t, m.Check(ctx))
	names := map[string]float64{}
	for _, f := range m.Fills() {
		names[f.Stream] = f.Ratio
	}
	assert.Greater(t, names["KV_LIMITED"], 0.8)
	assert.NotContains(t, names, "KV_UNLIMITED")
	require.Len(t, m.Filling(), 1)
	assert.Equal(t, "KV_LIMITED", m.Filling()[0].Stream)
}
