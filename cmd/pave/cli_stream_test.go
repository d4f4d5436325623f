package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cuttingProxy forwards to the real gateway and cuts the first progress
// stream right after its first message with an id, recording the
// Last-Event-ID of every stream request.
type cuttingProxy struct {
	base string
	mu   sync.Mutex
	// lastIDs: the Last-Event-ID header of each stream request, in order.
	lastIDs []string
	// cutAfter: the id of the message the first stream was cut after.
	cutAfter string
}

func (cp *cuttingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/events") {
		target, _ := url.Parse(cp.base)
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
		return
	}
	cp.mu.Lock()
	cp.lastIDs = append(cp.lastIDs, r.Header.Get("Last-Event-ID"))
	first := len(cp.lastIDs) == 1
	cp.mu.Unlock()
	req, err := http.NewRequestWithContext(r.Context(), r.Method, cp.base+r.URL.RequestURI(), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	rd := bufio.NewReader(resp.Body)
	id := ""
	for {
		line, err := rd.ReadString('\n')
		if _, werr := io.WriteString(w, line); werr != nil || err != nil {
			return
		}
		w.(http.Flusher).Flush()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = strings.TrimSpace(v)
		}
		if first && line == "\n" && id != "" {
			cp.mu.Lock()
			cp.cutAfter = id
			cp.mu.Unlock()
			return // the connection drops mid-stream
		}
	}
}

// TestCLIEnvCreateResumesTheStreamAfterADrop: when the progress stream
// drops, the CLI reconnects with Last-Event-ID and goes on without
// printing anything twice.
func TestCLIEnvCreateResumesTheStreamAfterADrop(t *testing.T) {
	p := startCrowded(t)
	cliEnv(t)
	cp := &cuttingProxy{base: p.base}
	srv := httptest.NewServer(cp)
	defer srv.Close()
	t.Setenv("PAVE_SERVER", srv.URL)
	t.Setenv("PAVE_TOKEN", p.token)
	first := p.create(map[string]any{"team": "crowded", "name": "first", "template": "redis-cache", "stage": "dev"})
	p.waitState(first, "ready")

	var live syncBuffer
	var errOut bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runEnv([]string{"create", "--team", "crowded", "--name", "second", "--template", "redis-cache", "-o", "table"}, &live, &errOut)
	}()
	require.Eventually(t, func() bool {
		states := progressOf(live.String())["state"]
		return len(states) > 0 && strings.HasPrefix(states[0], "queued")
	}, 20*time.Second, 20*time.Millisecond, "never said it waits: %s", &live)
	p.waitQueued(strings.Fields(live.String())[1])
	code, _ := p.do(http.MethodDelete, "/v1/environments/"+first, nil)
	require.Equal(t, http.StatusAccepted, code)
	select {
	case err := <-done:
		require.NoError(t, err, live.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("env create never ended: %s", live.String())
	}

	text := live.String()
	cp.mu.Lock()
	lastIDs, cutAfter := append([]string{}, cp.lastIDs...), cp.cutAfter
	cp.mu.Unlock()
	require.Empty(t, progressOf(text)["note"], "the gateway serves the progress stream")
	require.NotEmpty(t, cutAfter, "the stream was cut: %s", text)
	require.GreaterOrEqual(t, len(lastIDs), 2, "the CLI reconnected")
	assert.Equal(t, "", lastIDs[0])
	assert.Equal(t, cutAfter, lastIDs[1], "it resumed after the last message it had")
	// What happened while disconnected shows as the snapshot's changes
	// (the gateway ends a resumed stream at once when the environment
	// has settled meanwhile), so no particular step line is certain.
	assertProgress(t, text, nil, "ready")
	seen := map[string]bool{}
	for _, l := range progressOf(text)["step"] {
		assert.False(t, seen[l], "printed twice: %q\n%s", l, text)
		seen[l] = true
	}
}
