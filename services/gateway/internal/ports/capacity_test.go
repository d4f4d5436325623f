package ports

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/bus"
)

// fixedFills stands in for the fill monitor's last reading (the monitor
// itself is tested against JetStream in pkg/bus, and end to end in
// cmd/pave TestFullStreamRefusesCreatesCleanlyAndRecovers).
type fixedFills []bus.Fill

func (f fixedFills) FullNow(_ context.Context, except ...string) []bus.Fill {
	var out []bus.Fill
	for _, x := range f {
		if !slices.Contains(except, x.Stream) {
			out = append(out, x)
		}
	}
	return out
}

func TestFullStreamRefusesWritesNotReads(t *testing.T) {
	evt := bus.Fill{Stream: "EVT_LIFECYCLE", Ratio: 0.97, Bytes: 1017118, MaxBytes: 1 << 20, Msgs: 62}
	dlq := bus.Fill{Stream: bus.StreamDLQ, Ratio: 0.99, MaxBytes: 1 << 20}
	tests := []struct {
		fills  fixedFills
		method string
		want   int
	}{
		{fixedFills{evt}, http.MethodPost, http.StatusServiceUnavailable},
		{fixedFills{evt}, http.MethodDelete, http.StatusServiceUnavailable},
		{fixedFills{evt}, http.MethodGet, http.StatusOK},
		{fixedFills{dlq}, http.MethodPost, http.StatusOK},
		{nil, http.MethodPost, http.StatusOK},
	}
	for _, tt := range tests {
		reached := false
		h := refuseWhenFull(tt.fills, slog.New(slog.DiscardHandler), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			reached = true
		}))
		srv := httptest.NewServer(h)
		req, err := http.NewRequest(tt.method, srv.URL+"/v1/environments", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var problem map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&problem)
		_ = resp.Body.Close()
		srv.Close()
		assert.Equal(t, tt.want, resp.StatusCode, "%s with %v", tt.method, tt.fills)
		assert.Equal(t, tt.want == http.StatusOK, reached, "%s with %v: reached the handler", tt.method, tt.fills)
		if tt.want == http.StatusServiceUnavailable {
			assert.Equal(t, "30", resp.Header.Get("Retry-After"))
			assert.Equal(t, []any{"EVT_LIFECYCLE"}, problem["streams"])
			assert.Equal(t, "stream EVT_LIFECYCLE is 97% full (1017118 of 1048576 bytes, 62 messages): "+
				"Pave takes no new work until space is freed or the limit raised; nothing was changed", problem["detail"])
		}
	}
}
