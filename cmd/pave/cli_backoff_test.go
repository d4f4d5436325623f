package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// `pave workloads submit --wait` against the real gateway backs off while
// it waits: it never asks more often than 200 ms doubling to 5 s allows
// (a fixed 200 ms poll would ask 5 times a second, and fail this).
func TestWorkloadWaitBacksOff(t *testing.T) {
	p := startCrowded(t)
	target, err := url.Parse(p.base)
	require.NoError(t, err)
	var polls atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/workloads/") {
			polls.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(counting.Close)
	t.Setenv("PAVE_SERVER", counting.URL)
	t.Setenv("PAVE_TOKEN", p.token)

	var stdout bytes.Buffer
	start := time.Now()
	err = runWorkloads([]string{"submit", "--id", "slow", "--team", "crowded", "--cpu", "100", "--memory", "16",
		"--max-runtime", "60s", "--wait", "--", "sh", "-c", "sleep 4"}, &stdout)
	waited := time.Since(start)
	require.NoError(t, err, stdout.String())
	assert.Contains(t, stdout.String(), `"finished"`)

	got := int(polls.Load())
	bound := workloadPoll.maxPolls(waited)
	assert.GreaterOrEqual(t, got, 2, "it polled until the job finished")
	assert.LessOrEqual(t, got, bound, "%d polls in %s; the backoff allows at most %d", got, waited, bound)
	assert.Less(t, bound, int(waited/(200*time.Millisecond)), "the bound is below what a fixed 200 ms poll makes")
}

func TestBackoffDoublesToItsMax(t *testing.T) {
	b := backoff{First: 200 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{200 * ms, 400 * ms, 800 * ms, time.Second, time.Second, time.Second}, got)
	assert.Equal(t, 4, workloadPoll.maxPolls(2900*ms), "at 0, 0.2, 0.6 and 1.4 s; the next would be at 3.0 s")
}
