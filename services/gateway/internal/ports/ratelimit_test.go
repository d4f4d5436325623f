package ports

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
)

// Each token has its own budget of requests; over it the gateway answers
// 429 with Retry-After and a problem, with Redis and with JetStream KV.
func TestRateLimitPerTokenAnswers429WithRetryAfter(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	rd := testkit.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	for name, client := range map[string]*redis.Client{"kv": nil, "redis": rdb} {
		t.Run(name, func(t *testing.T) {
			cfg := Config{RatePerMinute: 6, RateBurst: 3}
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			srv := httptest.NewServer(rateLimited(newLimiter(cfg, client, js), cfg, nil, slog.Default(), ok))
			t.Cleanup(srv.Close)
			call := func(token string) *http.Response {
				req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/whoami", nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				t.Cleanup(func() { _ = resp.Body.Close() })
				return resp
			}
			for i := range 3 {
				resp := call("pave_alpha_" + name)
				require.Equal(t, http.StatusNoContent, resp.StatusCode, "request %d of the burst", i+1)
				assert.Equal(t, strconv.Itoa(2-i), resp.Header.Get("RateLimit-Remaining"))
			}
			resp := call("pave_alpha_" + name)
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			require.NoError(t, err)
			assert.True(t, wait >= 1 && wait <= 10, "one request frees up every 10 s at 6 a minute: %d", wait)
			raw, _ := io.ReadAll(resp.Body)
			var prob struct {
				Status int `json:"status"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			require.NoError(t, json.Unmarshal(raw, &prob))
			assert.Equal(t, 429, prob.Status)
			assert.Equal(t, "header.Authorization", prob.Errors[0].Field)

			assert.Equal(t, http.StatusNoContent, call("pave_beta_"+name).StatusCode, "another token has its own budget")
		})
	}
}

func TestRateLimitsCanBeSwitchedOff(t *testing.T) {
	assert.Nil(t, newLimiter(Config{RatePerMinute: 0}, nil, nil))
	assert.Error(t, Config{RatePerMinute: 5, RateBurst: 0}.Validate())
	assert.Error(t, Config{OpenAPICheck: "loose"}.Validate())
	assert.NoError(t, Config{RatePerMinute: 600, RateBurst: 600, OpenAPICheck: "strict"}.Validate())
}
