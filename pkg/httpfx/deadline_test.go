package httpfx_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/httpfx"
)

// uploadRoute reads the whole body: 408 when the body deadline cut it
// short, 200 otherwise. It counts the handlers that entered and the
// reads that hit the deadline.
func uploadRoute(entered, cut *atomic.Int32) httpfx.Route {
	return httpfx.Route{Pattern: "POST /upload", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		_, err := io.ReadAll(r.Body)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			cut.Add(1)
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
}

// slowUploads opens n connections that each send the headers of a
// 1,000-byte body and then one byte of it, as a slow client does.
func slowUploads(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		_, err = fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nx")
		require.NoError(t, err)
		conns[i] = c
	}
	return conns
}

// Finding 7 of issue 16: connections that send their body a byte at a
// time stayed open forever (only the headers had a deadline). Now the
// body read fails at the body deadline, the handler answers and the
// connection closes.
func TestAttackSlowBodiesAreCutOffAtTheBodyDeadline(t *testing.T) {
	cfg := testConfig()
	cfg.BodyTimeout = 300 * time.Millisecond
	var entered, cut atomic.Int32
	_, base := start(t, cfg, []httpfx.Route{uploadRoute(&entered, &cut)}, nil)
	conns := slowUploads(t, strings.TrimPrefix(base, "http://"), 50)
	for i, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "connection %d got no answer", i)
		assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
		_ = resp.Body.Close()
		_, err = c.Read(make([]byte, 1))
		assert.ErrorIs(t, err, io.EOF, "connection %d is closed after the cut", i)
	}
	assert.EqualValues(t, 50, cut.Load(), "every slow body hit the deadline")
}

// The body deadline ends with the body: a stream answered to a request
// with a body outlives it.
func TestBodyDeadlineDoesNotCutTheAnswer(t *testing.T) {
	cfg := testConfig()
	cfg.BodyTimeout = 200 * time.Millisecond
	read, release := make(chan struct{}), make(chan struct{})
	route := httpfx.Route{Pattern: "POST /stream", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		close(read)
		select {
		case <-release:
			_, _ = io.WriteString(w, "second\n")
		case <-r.Context().Done():
		}
	})}
	_, base := start(t, cfg, []httpfx.Route{route}, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(base+"/stream", "text/plain", strings.NewReader("hello"))
	require.NoError(t, err)
	defer resp.Body.Close()
	<-read
	since := time.Now()
	require.Eventually(t, func() bool { return time.Since(since) > 4*cfg.BodyTimeout }, 10*time.Second, 50*time.Millisecond)
	close(release)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "first\nsecond\n", string(body), "the stream went on past the body deadline")
}

// Finding 7, the shutdown: slow uploads in flight made Stop wait until
// its timeout and fail. Now Stop cuts their bodies short at once, their
// handlers answer, and Stop ends cleanly long before its timeout.
func TestAttackSlowBodiesDoNotHoldTheShutdown(t *testing.T) {
	cfg := testConfig()
	cfg.BodyTimeout = time.Hour
	cfg.ShutdownTimeout = 2 * time.Minute
	var entered, cut atomic.Int32
	s, err := httpfx.NewServer(cfg, []httpfx.Route{uploadRoute(&entered, &cut)}, nil, nil, nil)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	slowUploads(t, s.Addr(), 20)
	require.Eventually(t, func() bool { return entered.Load() == 20 }, 20*time.Second, 10*time.Millisecond,
		"not every slow upload reached its handler")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.Stop(ctx), "the shutdown ended cleanly, not by its timeout")
	assert.EqualValues(t, 20, cut.Load(), "every slow body was cut short by the shutdown")
}
