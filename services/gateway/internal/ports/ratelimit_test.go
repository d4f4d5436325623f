package ports

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/authn"
	"github.com/pave-platform/pave/pkg/testkit"
)

// asPrincipal is what RequireAuth does after authenticating: the request
// carries its principal, here named by the test in the token.
func asPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := bearer(r.Header.Get("Authorization"))
		user, _, _ := strings.Cut(strings.TrimPrefix(token, "pave_"), ".")
		p := authn.Principal{ID: user, Kind: authn.KindUser}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func callWith(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+"/v1/whoami", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// Each principal has one budget of requests, whichever of its tokens it
// uses; over it the gateway answers 429 with Retry-After and a problem,
// with Redis and with JetStream KV. Finding 8 of issue 16: five fresh
// tokens of one user used to get five budgets.
func TestAttackRateLimitIsPerPrincipalNotPerToken(t *testing.T) {
	js := testkit.NATS(t).JetStream(t)
	rd := testkit.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	for name, client := range map[string]*redis.Client{"kv": nil, "redis": rdb} {
		t.Run(name, func(t *testing.T) {
			cfg := Config{RatePerMinute: 6, RateBurst: 3}
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
			srv := httptest.NewServer(asPrincipal(rateLimited(newLimiter(cfg, client, js), cfg, nil, slog.Default(), ok)))
			t.Cleanup(srv.Close)
			for i := range 3 {
				resp := callWith(t, srv.URL, "pave_alpha"+name+".token"+strconv.Itoa(i)) // a fresh token each time
				require.Equal(t, http.StatusNoContent, resp.StatusCode, "request %d of the burst", i+1)
				assert.Equal(t, strconv.Itoa(2-i), resp.Header.Get("RateLimit-Remaining"))
			}
			resp := callWith(t, srv.URL, "pave_alpha"+name+".token9")
			require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "another token of the same user shares the budget")
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

			assert.Equal(t, http.StatusNoContent, callWith(t, srv.URL, "pave_beta"+name+".token0").StatusCode, "another principal has its own budget")
		})
	}
}

// The limiter down (Redis refuses connections): requests get 503, not a
// free pass; PAVE_RATE_LIMIT_FAIL_OPEN lets them through.
func TestAttackRateLimiterDownFailsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tt := range []struct {
		failOpen bool
		want     int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusNoContent}} {
		cfg := Config{RatePerMinute: 6, RateBurst: 3, RateFailOpen: tt.failOpen}
		srv := httptest.NewServer(asPrincipal(rateLimited(newLimiter(cfg, rdb, nil), cfg, nil, slog.New(slog.DiscardHandler), ok)))
		resp := callWith(t, srv.URL, "pave_alpha.t")
		assert.Equal(t, tt.want, resp.StatusCode, "fail open: %v", tt.failOpen)
		srv.Close()
	}
}

// A principal holds at most the configured number of event streams open
// on an instance; the next answers 429, another principal is unaffected,
// and a closed stream frees its slot.
func TestAttackEventStreamsAreCappedPerPrincipal(t *testing.T) {
	entered := make(chan struct{}, 10)
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		entered <- struct{}{}
		<-r.Context().Done()
	})
	srv := httptest.NewServer(asPrincipal(capStreams(2, stream)))
	t.Cleanup(srv.Close)
	open := func(token string) (*http.Response, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/environments/e/events", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { cancel(); _ = resp.Body.Close() })
		return resp, cancel
	}
	first, closeFirst := open("pave_alpha.a")
	require.Equal(t, http.StatusOK, first.StatusCode)
	<-entered
	second, _ := open("pave_alpha.b")
	require.Equal(t, http.StatusOK, second.StatusCode)
	<-entered
	third, _ := open("pave_alpha.c")
	assert.Equal(t, http.StatusTooManyRequests, third.StatusCode, "a third stream of the same user")
	other, _ := open("pave_beta.a")
	assert.Equal(t, http.StatusOK, other.StatusCode, "another principal has its own slots")
	<-entered

	closeFirst()
	require.Eventually(t, func() bool {
		resp, cancel := open("pave_alpha.d")
		defer cancel()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "the closed stream never freed its slot")
}

func TestRateLimitsCanBeSwitchedOff(t *testing.T) {
	assert.Nil(t, newLimiter(Config{RatePerMinute: 0}, nil, nil))
	assert.Error(t, Config{RatePerMinute: 5, RateBurst: 0}.Validate())
	assert.Error(t, Config{OpenAPICheck: "loose"}.Validate())
	assert.NoError(t, Config{RatePerMinute: 600, RateBurst: 600, OpenAPICheck: "strict"}.Validate())
	assert.Error(t, Config{StreamsPerPrincipal: -1}.Validate())
}
