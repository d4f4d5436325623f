package httpfx

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// bodies bounds how long a client may take to send a request body, and
// lets Stop cut short the bodies still arriving. A whole-request
// ReadTimeout on http.Server would do the first but also cancel every
// answer that outlives it (net/http's background read hits the deadline
// and cancels the request's context), server-sent event streams
// included; this deadline lasts only until the body is read.
type bodies struct {
	timeout time.Duration
	mu      sync.Mutex
	open    map[*http.ResponseController]struct{}
	expired bool
}

func newBodies(timeout time.Duration) *bodies {
	return &bodies{timeout: timeout, open: map[*http.ResponseController]struct{}{}}
}

// wrap sets the read deadline of a request with a body and clears it
// once the body is read or closed, so the rest of the answer (a stream)
// is not cut short.
func (b *bodies) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || b.timeout <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if !b.add(rc) {
			_ = rc.SetReadDeadline(time.Now()) // draining: no new uploads
		} else {
			_ = rc.SetReadDeadline(time.Now().Add(b.timeout))
		}
		body := &deadlineBody{ReadCloser: r.Body, done: func() {
			if b.remove(rc) {
				_ = rc.SetReadDeadline(time.Time{})
			}
		}}
		// A handler that answers without reading the body leaves the
		// deadline on: the server then discards the rest under it.
		defer b.remove(rc)
		r.Body = body
		next.ServeHTTP(w, r)
	})
}

func (b *bodies) add(rc *http.ResponseController) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.expired {
		return false
	}
	b.open[rc] = struct{}{}
	return true
}

// remove answers whether rc was still open (not expired by Stop).
func (b *bodies) remove(rc *http.ResponseController) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.open[rc]
	delete(b.open, rc)
	return ok
}

// expire ends every body still arriving: their reads fail at once, so
// their handlers answer and the shutdown does not wait on slow clients.
func (b *bodies) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expired = true
	for rc := range b.open {
		_ = rc.SetReadDeadline(time.Now())
		delete(b.open, rc)
	}
}

// deadlineBody calls done once, at the body's end (EOF or error) or close.
type deadlineBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	n, err := d.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		d.finish()
	}
	return n, err
}

func (d *deadlineBody) Close() error {
	err := d.ReadCloser.Close()
	d.finish()
	return err
}

func (d *deadlineBody) finish() { d.once.Do(d.done) }
