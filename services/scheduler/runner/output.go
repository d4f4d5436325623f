package runner

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pave-platform/pave/pkg/events"
	"github.com/pave-platform/pave/services/scheduler/internal/adapters"
)

// tail keeps the last max bytes written to it in a ring, so a job that
// prints gigabytes costs the runner max bytes.
type tail struct {
	mu   sync.Mutex
	max  int
	buf  []byte // grows to max, then wraps
	next int    // where the next byte goes once buf is full
	cut  bool   // bytes were dropped from the front
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) > t.max {
		p, t.cut = p[len(p)-t.max:], true
	}
	if room := t.max - len(t.buf); room > 0 {
		k := min(room, len(p))
		t.buf = append(t.buf, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		k := copy(t.buf[t.next:], p)
		p = p[k:]
		t.next = (t.next + k) % t.max
		t.cut = true
	}
	return n, nil
}

// String is the kept output as valid UTF-8 of at most max bytes: a
// character cut in half at the front is dropped, and invalid bytes
// become U+FFFD.
func (t *tail) String() string {
	t.mu.Lock()
	b := make([]byte, 0, len(t.buf))
	b = append(append(b, t.buf[t.next:]...), t.buf[:t.next]...)
	cut := t.cut
	t.mu.Unlock()
	if cut {
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(s) > t.max { // replacements can be longer than what they replace
		_, size := utf8.DecodeRuneInString(s)
		s = s[size:]
	}
	return s
}

// outputRetryFor bounds how long a job's output is retried into the
// object store; the report, with the output's tail, goes out after it
// either way.
const outputRetryFor = 30 * time.Second

// storeOutput puts the job's output into the JOB_OUTPUT object store and
// returns the tail the report carries: the last events.MaxLoggedOutput
// bytes, so that the event streams do not hold whole logs.
func (r *Runner) storeOutput(ctx context.Context, ref events.RunnerJobRef, out string) string {
	if out == "" {
		return ""
	}
	key := adapters.JobOutputKey(ref.WorkloadID, ref.Admission)
	ctx, cancel := context.WithTimeout(ctx, outputRetryFor)
	defer cancel()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		_, err := r.outputs.PutBytes(ctx, key, []byte(out))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			r.log.Warn("job output not stored; the report keeps its tail", "workload", ref.WorkloadID,
				"admission", ref.Admission, "bytes", len(out), "error", err)
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return lastBytes(out, events.MaxLoggedOutput)
}

// lastBytes is the end of s, at most n bytes, starting on a whole UTF-8
// character.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for i := 0; i < utf8.UTFMax && len(s) > 0 && !utf8.RuneStart(s[0]); i++ {
		s = s[1:]
	}
	return s
}
