package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pave-platform/pave/pkg/testkit"
)

// svcProc is a service binary running until the test ends; its output is
// kept for the failure report.
type svcProc struct {
	name, addr string
	log        *lockedLog
	exited     chan struct{}
}

func startService(t *testing.T, bin, addr string, env []string) *svcProc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(append(cmd.Environ(), env...), "PAVE_HTTP_ADDR="+addr)
	s := &svcProc{name: filepath.Base(bin), addr: addr, log: &lockedLog{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	testkit.DieWithParent(cmd)
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	})
	return s
}

// waitReady waits until the service answers /readyz with 200.
func (s *svcProc) waitReady(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		select {
		case <-s.exited:
			require.FailNow(t, s.name+" exited", s.log.tail(4000))
		default:
		}
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 50*time.Millisecond, "%s never ready:\n%s", s.name, s.log)
}

// lockedLog is a process's output.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string { return l.tail(4000) }

// tail is the last n bytes written.
func (l *lockedLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf.Bytes()
	return string(b[max(0, len(b)-n):])
}

// newAPIToken makes a token of the shape access accepts: pave_ and the
// base32 of 32 random bytes.
func newAPIToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "pave_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// httpAPI calls the gateway over a real socket, retrying what a client
// retries: connection errors and 5xx while a node or service is down.
type httpAPI struct {
	t     *testing.T
	base  string
	token string
	// staleCreates counts creates answered 404 though stored.
	staleCreates *atomic.Int64
}

func (a httpAPI) do(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var code int
	var out []byte
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, out, err = a.once(method, path, body)
		if err == nil && code < 500 {
			return code, out
		}
		if time.Now().After(deadline) {
			a.t.Errorf("%s %s never answered below 500: %d %s %v", method, path, code, out, err)
			runtime.Goexit()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a httpAPI) once(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

type envItem struct {
	ID, Name, State, Reason string
}

// states lists every environment the caller sees, deleted ones included,
// by id.
func (a httpAPI) states() map[string]envItem {
	a.t.Helper()
	out := map[string]envItem{}
	for _, path := range []string{"/v1/environments?limit=1000", "/v1/environments?state=deleted&limit=1000"} {
		code, raw := a.do(http.MethodGet, path, nil)
		require.Equal(a.t, http.StatusOK, code, "%s", raw)
		var list struct{ Items []envItem }
		require.NoError(a.t, json.Unmarshal(raw, &list))
		for _, it := range list.Items {
			out[it.ID] = it
		}
	}
	return out
}

// createAll creates one environment per spec with a few requests at a
// time. A create whose answer was lost comes back as 409 on the retry; its
// id is then found by name.
func (a httpAPI) createAll(specs []map[string]any) []string {
	ids := make([]string, len(specs))
	work := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				ids[i] = a.create(specs[i])
			}
		})
	}
	for i := range specs {
		work <- i
	}
	close(work)
	wg.Wait()
	return ids
}

func (a httpAPI) create(spec map[string]any) string {
	code, raw := a.do(http.MethodPost, "/v1/environments", spec)
	if code == http.StatusNotFound {
		// A stale read: lifecycle stores the environment and reads it back
		// at once, and a follower answering a direct get may not have the
		// write yet. Its buckets read from the leader now
		// (bus.ReadYourWrites); the test fails on any of these, and the
		// retry (which finds the name taken) lets the run finish first.
		a.staleCreates.Add(1)
		code, raw = a.do(http.MethodPost, "/v1/environments", spec)
	}
	if code == http.StatusConflict {
		for _, it := range a.states() {
			if it.Name == spec["name"] {
				return it.ID
			}
		}
	}
	require.Equal(a.t, http.StatusAccepted, code, "%s", raw)
	var out struct{ Environment struct{ ID string } }
	require.NoError(a.t, json.Unmarshal(raw, &out))
	return out.Environment.ID
}

func (a httpAPI) deleteAll(ids []string) {
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for id := range work {
				code, raw := a.do(http.MethodDelete, "/v1/environments/"+id, nil)
				require.Contains(a.t, []int{http.StatusAccepted, http.StatusOK}, code, "%s", raw)
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
}

// waitCount waits until at least n of ids are in one of states.
func (a httpAPI) waitCount(ids []string, n int, states ...string) map[string]envItem {
	a.t.Helper()
	var got map[string]envItem
	count := func() int {
		got = a.states()
		c := 0
		for _, id := range ids {
			if contains(states, got[id].State) {
				c++
			}
		}
		return c
	}
	var c int
	start := time.Now()
	require.Eventually(a.t, func() bool { c = count(); return c >= n },
		3*time.Minute, 500*time.Millisecond, "only %d of %d reached %v", &c, n, states)
	a.t.Logf("%d of %d %v after %s", c, len(ids), states, time.Since(start).Round(time.Millisecond))
	return got
}
