package ports

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/pave-platform/pave/pkg/httpfx"
)

// streamSlots caps the event streams one principal holds open on this
// gateway instance: each holds a connection, a JetStream consumer and a
// goroutine for as long as the client likes, so without a cap one token
// (or many tokens of one user) could hold them all.
type streamSlots struct {
	max  int
	mu   sync.Mutex
	open map[string]int
}

// capStreams wraps a streaming handler: over max streams (0: no cap) of
// the caller, 429 with Retry-After.
func capStreams(max int, next http.Handler) http.Handler {
	if max <= 0 {
		return next
	}
	s := &streamSlots{max: max, open: map[string]int{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		key := p.Kind + "\x00" + p.ID
		if !s.take(key) {
			w.Header().Set("Retry-After", "5")
			httpfx.WriteProblem(w, http.StatusTooManyRequests, "Too Many Requests",
				"you already hold "+strconv.Itoa(s.max)+" event streams open, the most one principal may; close one first", nil)
			return
		}
		defer s.give(key)
		next.ServeHTTP(w, r)
	})
}

func (s *streamSlots) take(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key] >= s.max {
		return false
	}
	s.open[key]++
	return true
}

func (s *streamSlots) give(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[key]--; s.open[key] <= 0 {
		delete(s.open, key)
	}
}
