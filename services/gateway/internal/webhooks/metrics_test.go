package webhooks

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestIngestLatencyIsRecordedByProviderAndOutcome(t *testing.T) {
	r := newRig(t, nil)
	reader := sdkmetric.NewManualReader()
	m, err := NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	require.NoError(t, err)
	h := NewReceiver(r.repos, r.seen, r.bus, slog.New(slog.DiscardHandler), m).Handler()
	body := fixture(t, "github/push_with-new-branch.json")
	for _, secret := range []string{secretNew, "wrong"} {
		req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", newDelivery())
		req.Header.Set("X-Hub-Signature-256", SignGitHub([]byte(secret), body))
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name != "pave_webhook_ingest" {
				continue
			}
			assert.Equal(t, "s", mt.Unit)
			for _, dp := range mt.Data.(metricdata.Histogram[float64]).DataPoints {
				p, _ := dp.Attributes.Value("provider")
				o, _ := dp.Attributes.Value("outcome")
				counts[p.AsString()+"/"+o.AsString()] += dp.Count
			}
		}
	}
	assert.Equal(t, map[string]uint64{"github/stored": 1, "github/rejected": 1}, counts)
}
